import Redis from "ioredis";
import { RedisRateLimiter } from "../../lib/rate-limiter";
import { REDIS_URI } from "../support/system";

describe("Redis rate limiter", () => {
	const redis = new Redis(REDIS_URI);
	const prefix = `rl-test-${process.pid}-${Date.now()}:`;
	afterAll(async () => {
		const keys = await redis.keys(`${prefix}*`);
		if (keys.length) await redis.del(...keys);
		await redis.quit();
	});

	it("counts atomically across concurrent callers, as several nodes would", async () => {
		const nodes = [new RedisRateLimiter(redis, prefix), new RedisRateLimiter(new Redis(REDIS_URI), prefix)];
		const rule = { limit: 10, windowMs: 5_000 };
		const results = await Promise.all(Array.from({ length: 40 }, (_, i) => nodes[i % 2].consume("login:ip:1.2.3.4", rule)));
		expect(results.filter(r => r.allowed)).toHaveLength(10);
		expect(results.every(r => r.resetMs > 0 && r.resetMs <= 5_000)).toBe(true);
		const ttl = await redis.pttl(`${prefix}login:ip:1.2.3.4`);
		expect(ttl).toBeGreaterThan(0);
		await (nodes[1] as unknown as { redis: Redis }).redis.quit();
	});

	it("refunds without going below zero", async () => {
		const rl = new RedisRateLimiter(redis, prefix);
		await rl.refund("never-used");
		expect(await redis.get(`${prefix}never-used`)).toBeNull();
		const rule = { limit: 1, windowMs: 5_000 };
		expect((await rl.consume("r", rule)).allowed).toBe(true);
		await rl.refund("r");
		expect((await rl.consume("r", rule)).allowed).toBe(true);
		expect((await rl.consume("r", rule)).allowed).toBe(false);
	});
});
