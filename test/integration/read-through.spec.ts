import { ServiceBroker, type Context } from "moleculer";
import { CACHE_KEYS, readThrough } from "../../lib/cache-keys";

/** readThrough (lib/cache-keys.ts) answers from the very entry the cached action would, or makes the call. */
describe("reading a cached action through the cacher", () => {
	const broker = new ServiceBroker({ logger: false, cacher: "Memory", nodeID: `read-through-${process.pid}` });
	let handled = 0;
	let viewer!: Context<unknown, object>;

	beforeAll(async () => {
		broker.createService({
			name: "users",
			actions: {
				get: {
					cache: { keys: [...CACHE_KEYS["users.get"]], ttl: 60 },
					handler(ctx: Context<{ id: number }>) {
						handled++;
						return { id: ctx.params.id, nickname: `user ${ctx.params.id} #${handled}` };
					},
				},
			},
		});
		broker.createService({
			name: "viewer",
			actions: {
				capture(ctx: Context<unknown, object>) {
					viewer = ctx;
				},
			},
		});
		await broker.start();
		await broker.call("viewer.capture");
	});
	afterAll(() => broker.stop());

	it("calls the action on a miss, and answers the next read from the cache without a call", async () => {
		const call = jest.spyOn(viewer, "call");
		try {
			const first = await readThrough<{ nickname: string }>(viewer, "users.get", { id: 7 });
			expect(first.nickname).toBe("user 7 #1");
			expect(call).toHaveBeenCalledTimes(1);
			const second = await readThrough<{ nickname: string }>(viewer, "users.get", { id: 7 });
			expect(second.nickname).toBe("user 7 #1");
			expect(call).toHaveBeenCalledTimes(1);
			// The entry is the action's own: the action, called, answers from it too.
			expect(await broker.call("users.get", { id: 7 })).toEqual(second);
			expect(handled).toBe(1);
		} finally {
			call.mockRestore();
		}
	});

	it("sees a cleaned entry as gone, and skips the cache when the caller turned it off", async () => {
		await broker.cacher!.del("users.get:7");
		expect((await readThrough<{ nickname: string }>(viewer, "users.get", { id: 7 })).nickname).toBe("user 7 #2");
		(viewer.meta as { $cache?: boolean }).$cache = false;
		try {
			expect((await readThrough<{ nickname: string }>(viewer, "users.get", { id: 7 })).nickname).toBe("user 7 #3");
		} finally {
			delete (viewer.meta as { $cache?: boolean }).$cache;
		}
	});
});
