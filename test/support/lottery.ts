import type { Sequelize } from "sequelize";
import type { Client, TestSystem } from "./system";

export const L = "/lottery/v1/lottery";
export const P = "/lottery/v1/prize";
export const nowSec = () => Math.floor(Date.now() / 1000);

export const prize = (level: number, extra: Record<string, unknown> = {}) => ({
	type: 1, name: `Prize L${level}`, count: 1, thumb: `https://img/p${level}.png`, level, grantType: 1, ...extra,
});

/** A valid createLottery body: type 1, drawn in an hour, one prize; override what the test is about. */
export function lotteryBody(extra: Record<string, unknown> = {}) {
	const t = nowSec();
	return {
		name: "",
		thumb: "",
		announceType: 1,
		announceTime: t + 3600,
		joinNumber: 0,
		introduce: "a test lottery",
		awardDeadline: t + 7 * 86400,
		sponsorId: 0,
		prizes: [prize(1)],
		isClocked: 0,
		clockTask: null,
		publishType: 1,
		...extra,
	};
}

export async function createLottery(api: Client, token: string, extra: Record<string, unknown> = {}): Promise<number> {
	const res = await api.post(`${L}/createLottery`, lotteryBody(extra), token);
	if (res.status !== 200) throw new Error(`createLottery failed: ${res.status} ${JSON.stringify(res.body)}`);
	return res.body.data.id as number;
}

/**
 * Stands in for the draw service (its own issue) where a test needs winners: marks the given users as
 * winners of the given prizes and the lottery as announced, straight in the database.
 */
export async function recordWinners(db: Sequelize, lotteryId: number, winners: Array<{ userId: number; prizeId: number }>): Promise<void> {
	for (const w of winners) {
		await db.query("UPDATE lottery_participation SET is_won = 1, prize_id = ? WHERE lottery_id = ? AND user_id = ?", { replacements: [w.prizeId, lotteryId, w.userId] });
	}
	await db.query("UPDATE lottery SET state = 2, announced_time = ? WHERE id = ?", { replacements: [nowSec(), lotteryId] });
}

/** Drops every cached entry, as a test that wrote to the database behind the services' back must. */
export async function flushCaches(sys: TestSystem): Promise<void> {
	await Promise.all(sys.brokers.map(b => b.cacher?.clean()));
}
