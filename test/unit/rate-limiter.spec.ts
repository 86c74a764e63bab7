import { MemoryRateLimiter } from "../../lib/rate-limiter";

describe("memory rate limiter", () => {
	it("allows `limit` attempts per window, then refuses until the window ends", async () => {
		const rl = new MemoryRateLimiter();
		const rule = { limit: 3, windowMs: 200 };
		const results = [];
		for (let i = 0; i < 5; i++) results.push((await rl.consume("k", rule)).allowed);
		expect(results).toEqual([true, true, true, false, false]);
		expect((await rl.consume("other", rule)).allowed).toBe(true);
		await new Promise(r => setTimeout(r, 220));
		expect((await rl.consume("k", rule)).allowed).toBe(true);
		await rl.close();
	});

	it("gives an attempt back on refund", async () => {
		const rl = new MemoryRateLimiter();
		const rule = { limit: 1, windowMs: 10_000 };
		expect((await rl.consume("k", rule)).allowed).toBe(true);
		await rl.refund("k");
		expect((await rl.consume("k", rule)).allowed).toBe(true);
		expect((await rl.consume("k", rule)).allowed).toBe(false);
		await rl.close();
	});
});
