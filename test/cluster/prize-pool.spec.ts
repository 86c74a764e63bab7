import Redis from "ioredis";
import { createLottery, L, prize } from "../support/lottery";
import { client, REDIS_URI, registerUser, startSystem, type Client, type TestSystem } from "../support/system";

interface PoolView {
	db: Record<number, number>;
	redis: Record<number, number> | null;
	consistent: boolean;
}

describe("the instant prize pool in Redis", () => {
	let sys: TestSystem;
	let api: Client;
	let redis: Redis;

	beforeAll(async () => {
		sys = await startSystem();
		api = client(sys.baseUrl);
		redis = new Redis(REDIS_URI);
	});
	afterAll(async () => {
		await redis.quit();
		await sys?.stop();
	});

	const pool = (lotteryId: number) => sys.gateway.call<PoolView, object>("draw.pool", { lotteryId });
	const poolKey = (lotteryId: number) => `${sys.config.namespace}:pool:${lotteryId}`;

	it("is built from the database when missing, and rebuilt after Redis lost it", async () => {
		const owner = await registerUser(api);
		const [a, b] = await Promise.all([registerUser(api), registerUser(api)]);
		const id = await createLottery(api, owner.token, { announceType: 3, announceTime: 0, prizes: [prize(1, { count: 5, probability: 10_000 })] });
		expect((await pool(id)).redis).toBeNull();
		expect((await api.post(`${L}/instantParticipation`, { lotteryId: id }, a.token)).body.data.prizeId).toBeGreaterThan(0);
		expect(Object.values((await pool(id)).redis!)).toEqual([4]);

		await redis.del(poolKey(id)); // Redis restarted without persistence
		expect((await api.post(`${L}/instantParticipation`, { lotteryId: id }, b.token)).body.data.prizeId).toBeGreaterThan(0);
		const after = await pool(id);
		expect(Object.values(after.db)).toEqual([3]);
		expect(after.consistent).toBe(true);
	});

	it("gets its item back when the database write fails after the take (go-lottery lost it)", async () => {
		const owner = await registerUser(api);
		const [a, b] = await Promise.all([registerUser(api), registerUser(api)]);
		const id = await createLottery(api, owner.token, { announceType: 3, announceTime: 0, prizes: [prize(1, { count: 2, probability: 10_000 })] });
		await api.post(`${L}/instantParticipation`, { lotteryId: id }, a.token);
		await sys.db.query("ALTER TABLE instant_draw_log RENAME TO instant_draw_log_away");
		try {
			const failed = await api.post(`${L}/instantParticipation`, { lotteryId: id }, b.token);
			expect(failed.status).toBe(500);
		} finally {
			await sys.db.query("ALTER TABLE instant_draw_log_away RENAME TO instant_draw_log");
		}
		const view = await pool(id);
		expect(view.db).toEqual(view.redis);
		expect(Object.values(view.db)).toEqual([1]);
		// and the same user can try again: nothing of the failed attempt was kept
		expect((await api.post(`${L}/instantParticipation`, { lotteryId: id }, b.token)).body.data.prizeId).toBeGreaterThan(0);
	});

	it("is brought back in line with the database by reconciliation after a node died half-way", async () => {
		const owner = await registerUser(api);
		const a = await registerUser(api);
		const id = await createLottery(api, owner.token, { announceType: 3, announceTime: 0, prizes: [prize(1, { count: 4, probability: 10_000 }), prize(2, { count: 2, probability: 0 })] });
		await api.post(`${L}/instantParticipation`, { lotteryId: id }, a.token);
		// A node took an item and died before its transaction: Redis is one short of the database.
		const prizeId = Number(Object.keys((await pool(id)).db)[0]);
		await redis.hincrby(poolKey(id), String(prizeId), -1);
		const broken = await pool(id);
		expect(broken.consistent).toBe(false);

		const repaired = await sys.gateway.call<{ before: Record<number, number>; after: Record<number, number> }, object>("draw.reconcilePool", { lotteryId: id });
		expect(repaired.before[prizeId]).toBe(repaired.after[prizeId] - 1);
		const view = await pool(id);
		expect(view.consistent).toBe(true);
		expect(view.redis).toEqual(view.db);
	});
});
