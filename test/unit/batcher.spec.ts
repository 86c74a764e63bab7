import { Batcher, settle, type Outcome } from "../../lib/batcher";
import { LocalCache } from "../../lib/local-cache";
import { redisOptions } from "../../lib/redis";

describe("Batcher", () => {
	function doubling(log: number[][], delayMs = 5, parallel = 1, maxBatch = 100) {
		let running = 0;
		let most = 0;
		const batcher = new Batcher<number, number>(async items => {
			running++;
			most = Math.max(most, running);
			log.push(items);
			await new Promise(r => setTimeout(r, delayMs));
			running--;
			return items.map((n): Outcome<number> => (n < 0 ? { ok: false, error: new Error(`negative ${n}`) } : { ok: true, value: n * 2 }));
		}, { maxBatch, parallel });
		return { batcher, most: () => most };
	}

	it("sends a lone item at once, in a batch of its own", async () => {
		const log: number[][] = [];
		const { batcher } = doubling(log);
		expect(await batcher.submit(4)).toBe(8);
		expect(log).toEqual([[4]]);
	});

	it("gathers what arrives while a batch is in flight, and answers each caller with its own outcome", async () => {
		const log: number[][] = [];
		const { batcher, most } = doubling(log, 20);
		const first = batcher.submit(1);
		await new Promise(r => setImmediate(r));
		// The first batch is in flight now: these wait for it, then go together.
		const rest = [2, -3, 4, 5].map(n => settle(batcher.submit(n)));
		expect(await first).toBe(2);
		const outcomes = await Promise.all(rest);
		expect(log).toEqual([[1], [2, -3, 4, 5]]);
		expect(outcomes.map(o => (o.ok ? o.value : (o.error as Error).message))).toEqual([4, "negative -3", 8, 10]);
		expect(most()).toBe(1);
		expect(batcher.batches).toBe(2);
		expect(batcher.items).toBe(5);
	});

	it("keeps at most `parallel` batches in flight and no batch above maxBatch", async () => {
		const log: number[][] = [];
		const { batcher, most } = doubling(log, 10, 2, 3);
		const all = await Promise.all(Array.from({ length: 20 }, (_, i) => batcher.submit(i)));
		expect(all).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
		expect(most()).toBe(2);
		expect(Math.max(...log.map(b => b.length))).toBeLessThanOrEqual(3);
		expect(log.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
		expect(batcher.pending).toBe(0);
	});

	it("fails every item of a batch whose work throws, and keeps going afterwards", async () => {
		let fail = true;
		const batcher = new Batcher<number, number>(async items => {
			if (fail) throw new Error("database down");
			return items.map(n => ({ ok: true as const, value: n }));
		}, { maxBatch: 10, parallel: 1 });
		const outcomes = await Promise.all([1, 2, 3].map(n => settle(batcher.submit(n))));
		expect(outcomes.every(o => !o.ok && (o.error as Error).message === "database down")).toBe(true);
		fail = false;
		expect(await batcher.submit(7)).toBe(7);
	});

	it("rejects an item the work gave no outcome for, rather than leaving its caller waiting", async () => {
		const batcher = new Batcher<number, number>(async () => [], { maxBatch: 10, parallel: 1 });
		await expect(batcher.submit(1)).rejects.toThrow(/no outcome/);
	});
});

describe("LocalCache", () => {
	it("forgets entries after the TTL, or sooner when told", () => {
		const cache = new LocalCache<string>(10, 1000);
		cache.set("a", "A", Infinity, 0);
		cache.set("b", "B", 500, 0);
		expect(cache.get("a", 999)).toBe("A");
		expect(cache.get("b", 499)).toBe("B");
		expect(cache.get("b", 500)).toBeUndefined();
		expect(cache.get("a", 1000)).toBeUndefined();
		cache.set("c", "C", 0, 10);
		expect(cache.get("c", 10)).toBeUndefined();
	});

	it("drops the oldest entry when full", () => {
		const cache = new LocalCache<number>(2, 1000);
		cache.set("a", 1, Infinity, 0);
		cache.set("b", 2, Infinity, 0);
		cache.set("a", 3, Infinity, 0); // a is now the newest
		cache.set("c", 4, Infinity, 0);
		expect(cache.size).toBe(2);
		expect(cache.get("b", 1)).toBeUndefined();
		expect(cache.get("a", 1)).toBe(3);
		expect(cache.get("c", 1)).toBe(4);
	});
});

describe("redisOptions", () => {
	it("reads host, port, credentials, database and TLS from the URI, with auto-pipelining on", () => {
		expect(redisOptions("redis://127.0.0.1:6380/2")).toEqual({ host: "127.0.0.1", port: 6380, db: 2, enableAutoPipelining: true });
		expect(redisOptions("rediss://app:p%40ss@cache.example:6379")).toEqual({
			host: "cache.example", port: 6379, username: "app", password: "p@ss", tls: {}, enableAutoPipelining: true,
		});
		expect(redisOptions("redis://localhost").port).toBe(6379);
		expect(() => redisOptions("nats://127.0.0.1:4222")).toThrow(/not a Redis URI/);
	});
});
