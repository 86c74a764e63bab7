import type Redis from "ioredis";

/**
 * The instant prize pool in Redis (cluster mode): one hash per lottery, prize id → stock left. Taking is
 * one Lua step, so two nodes can never take the last item twice. The database's stock stays the truth: the
 * pool is built from it when missing, every take is confirmed by a conditional SQL update, and
 * reconcile() sets the pool back to the database's numbers.
 */
const TAKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local left = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if left > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], -1) return 1 end
return 0
`;

const GIVE_BACK = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
`;

// Builds the pool only if nobody did in the meantime: ARGV = prizeId, stock, prizeId, stock, ...
const BUILD = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

export type PoolStocks = Record<number, number>;

export class PrizePool {
	constructor(private readonly redis: Redis, private readonly prefix: string) {}

	private key(lotteryId: number): string {
		return `${this.prefix}pool:${lotteryId}`;
	}

	/** 1 taken, 0 none left, -1 the pool does not exist (build it, then retry). */
	async take(lotteryId: number, prizeId: number): Promise<1 | 0 | -1> {
		return (await this.redis.eval(TAKE, 1, this.key(lotteryId), String(prizeId))) as 1 | 0 | -1;
	}

	async giveBack(lotteryId: number, prizeId: number): Promise<void> {
		await this.redis.eval(GIVE_BACK, 1, this.key(lotteryId), String(prizeId));
	}

	/** Creates the pool from the database's stock unless it exists already. */
	async build(lotteryId: number, stocks: PoolStocks): Promise<void> {
		const args = Object.entries(stocks).flatMap(([id, n]) => [id, String(n)]);
		if (!args.length) return;
		await this.redis.eval(BUILD, 1, this.key(lotteryId), ...args);
	}

	/** The pool as Redis has it, or null when it does not exist. */
	async read(lotteryId: number): Promise<PoolStocks | null> {
		const raw = await this.redis.hgetall(this.key(lotteryId));
		if (!Object.keys(raw).length) return null;
		return Object.fromEntries(Object.entries(raw).map(([k, v]) => [Number(k), Number(v)]));
	}

	/** Sets the pool to the database's numbers in one step. */
	async reconcile(lotteryId: number, stocks: PoolStocks): Promise<void> {
		const key = this.key(lotteryId);
		const args = Object.entries(stocks).flatMap(([id, n]) => [id, String(n)]);
		const tx = this.redis.multi().del(key);
		if (args.length) tx.hset(key, ...args);
		await tx.exec();
	}
}
