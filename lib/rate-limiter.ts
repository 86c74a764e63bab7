import type Redis from "ioredis";
import type { RateLimitRule } from "./config";

export interface RateLimitResult {
	allowed: boolean;
	/** Attempts counted in the current window, this one included. */
	count: number;
	/** Milliseconds until the window resets. */
	resetMs: number;
}

/**
 * Fixed-window counters. `consume` counts an attempt atomically and says whether it is within the rule;
 * `refund` gives one back (a successful login does not count against its mobile number).
 */
export interface RateLimiter {
	consume(key: string, rule: RateLimitRule): Promise<RateLimitResult>;
	refund(key: string): Promise<void>;
	close(): Promise<void>;
}

/** The embedded default: one process, one Map. Expired windows are swept once a minute. */
export class MemoryRateLimiter implements RateLimiter {
	private readonly windows = new Map<string, { count: number; resetAt: number }>();
	private readonly sweeper = setInterval(() => {
		const now = Date.now();
		for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
	}, 60_000).unref();

	async consume(key: string, rule: RateLimitRule): Promise<RateLimitResult> {
		const now = Date.now();
		let w = this.windows.get(key);
		if (!w || w.resetAt <= now) {
			w = { count: 0, resetAt: now + rule.windowMs };
			this.windows.set(key, w);
		}
		w.count++;
		return { allowed: w.count <= rule.limit, count: w.count, resetMs: w.resetAt - now };
	}

	async refund(key: string): Promise<void> {
		const w = this.windows.get(key);
		if (w && w.count > 0) w.count--;
	}

	async close(): Promise<void> {
		clearInterval(this.sweeper);
	}
}

// INCR and the window's expiry in one step, so a crash between them cannot leave a counter that never expires.
const CONSUME_LUA = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`;

const REFUND_LUA = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return n
`;

/** Cluster mode: counters shared by every node in Redis. */
export class RedisRateLimiter implements RateLimiter {
	constructor(private readonly redis: Redis, private readonly prefix: string) {}

	async consume(key: string, rule: RateLimitRule): Promise<RateLimitResult> {
		const [count, ttl] = (await this.redis.eval(CONSUME_LUA, 1, this.prefix + key, String(rule.windowMs))) as [number, number];
		return { allowed: count <= rule.limit, count, resetMs: ttl };
	}

	async refund(key: string): Promise<void> {
		await this.redis.eval(REFUND_LUA, 1, this.prefix + key);
	}

	async close(): Promise<void> {
		/* the Redis connection belongs to the caller */
	}
}
