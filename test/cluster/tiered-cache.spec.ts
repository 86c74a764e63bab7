import Redis from "ioredis";
import { ServiceBroker, type Context } from "moleculer";
import { PipelinedRedisTransporter, redisOptions, TieredCacher } from "../../lib/redis";
import { CacheCleanerMixin } from "../../mixins/cache-cleaner.mixin";
import { REDIS_URI } from "../support/system";
import { waitFor } from "../support/wait";

/**
 * Two nodes over the real Redis transporter, each with the tiered cacher (its own memory in front of the shared
 * Redis cache): reads come from a node's copy, and a change made on one node reaches the other's copy at once.
 */
describe("tiered cache: per-node copies in front of Redis", () => {
	const namespace = `tier${process.pid}${Date.now() % 100000}`;
	const redis = new Redis(REDIS_URI);
	let value = "v1";
	let reads = 0;
	const brokers: ServiceBroker[] = [];
	const cachers: TieredCacher[] = [];

	beforeAll(async () => {
		for (const id of ["a", "b"]) {
			const cacher = new TieredCacher({ redis: redisOptions(REDIS_URI), ttl: 60, prefix: `${namespace}-cache` } as never, 30_000);
			cachers.push(cacher);
			const broker = new ServiceBroker({ namespace, nodeID: `${namespace}-${id}`, logger: false, transporter: new PipelinedRedisTransporter(REDIS_URI), cacher });
			broker.createService({
				name: "thing",
				mixins: [CacheCleanerMixin(["thing"])],
				actions: {
					get: { cache: { keys: ["id"] }, handler: (ctx: Context<{ id: number }>) => ({ id: ctx.params.id, value, reads: ++reads }) },
					async change(this: { cleanCache(s: string, k: string[]): Promise<void> }, ctx: Context<{ id: number; value: string }>) {
						value = ctx.params.value;
						await this.cleanCache("thing", [`thing.get:${ctx.params.id}`]);
					},
				},
			} as never);
			brokers.push(broker);
		}
		await Promise.all(brokers.map(b => b.start()));
		// Each node must know the other (and its listeners) for the broadcast to reach it.
		const knows = (b: ServiceBroker, other: ServiceBroker) => (b.registry.getServiceList({ onlyAvailable: true }) as Array<{ name: string; nodeID: string }>).some(s => s.name === "thing" && s.nodeID === other.nodeID);
		await waitFor(() => knows(brokers[0], brokers[1]) && knows(brokers[1], brokers[0]), 15_000, "the nodes to discover each other");
		// Until its Redis client is ready a cacher lets calls through uncached.
		await waitFor(() => cachers.every(c => (c as unknown as { connected: boolean }).connected), 5000, "the cachers to connect");
	});
	afterAll(async () => {
		await Promise.all(brokers.map(b => b.stop()));
		const keys = await redis.keys(`${namespace}-cache*`);
		if (keys.length) await redis.del(...keys);
		await redis.quit();
	});

	/** Removes an entry from Redis only, behind the cachers' backs. */
	async function dropFromRedis(id: number): Promise<void> {
		// The cacher writes to Redis after answering: wait for the entry to be there first.
		let keys: string[] = [];
		await waitFor(async () => (keys = await redis.keys(`${namespace}-cache*thing.get:${id}`)).length === 1, 3000, "the entry in Redis");
		await redis.del(...keys);
	}

	const localGet = (node: number, id: number) => brokers[node].call<{ value: string; reads: number }, { id: number }>("thing.get", { id }, { nodeID: brokers[node].nodeID });

	it("answers from the node's own copy once read, even when Redis no longer has the entry", async () => {
		const first = await localGet(0, 1);
		expect(first.value).toBe("v1");
		// Gone from Redis behind the cacher's back: node a still answers from its copy, without running the handler.
		await dropFromRedis(1);
		expect(await localGet(0, 1)).toEqual(first);
		// Node b has no copy: it runs the handler.
		expect((await localGet(1, 1)).reads).toBe(first.reads + 1);
	});

	it("drops every node's copy when one node changes the value", async () => {
		await localGet(0, 2);
		await localGet(1, 2);
		expect((await localGet(1, 2)).value).toBe("v1");
		await brokers[0].call("thing.change", { id: 2, value: "v2" }, { nodeID: brokers[0].nodeID });
		expect((await localGet(0, 2)).value).toBe("v2");
		// Node b's copy goes with the broadcast, long before its 30 s local TTL.
		await waitFor(async () => (await localGet(1, 2)).value === "v2", 3000, "node b to drop its copy");
	});

	it("drops copies by pattern too", async () => {
		await localGet(1, 3);
		cachers[1].dropLocal([], ["thing.*"]);
		await dropFromRedis(3);
		const before = reads;
		await localGet(1, 3);
		expect(reads).toBe(before + 1);
	});
});
