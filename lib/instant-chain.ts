import { Op, QueryTypes, type Sequelize } from "sequelize";
import { GENESIS_HASH, instantEntryHash } from "../domain/draw";
import type { Models } from "../models";

/**
 * Links an instant lottery's new outcomes into its hash chain. Outcomes are written by the requests that
 * decide them (seq = NULL); this gives each, in id order, the next seq, the previous entry's hash and its own,
 * under a lock on the chain's head row (instant_chain) — one short transaction per batch instead of one per
 * request, so joining never queues on the chain. Safe to run on any number of nodes at once. Returns how many
 * it linked.
 */
export async function chainInstantLog(db: Sequelize, models: Models, lotteryId: number, batch = 1000): Promise<number> {
	let linked = 0;
	for (;;) {
		const n = await db.transaction(async t => {
			// The chain's head row, created on first use and locked for the batch.
			// (ON DUPLICATE KEY UPDATE takes the row's exclusive lock at once: two linkers cannot both hold a shared
			// lock from INSERT IGNORE and then deadlock asking for FOR UPDATE.)
			await db.query(
				db.getDialect() === "mysql"
					? "INSERT INTO instant_chain (lottery_id, seq, head) VALUES (?, 0, ?) ON DUPLICATE KEY UPDATE lottery_id = lottery_id"
					: "INSERT OR IGNORE INTO instant_chain (lottery_id, seq, head) VALUES (?, 0, ?)",
				{ replacements: [lotteryId, GENESIS_HASH], transaction: t },
			);
			const [head] = await db.query<{ seq: number; head: string }>(`SELECT seq, head FROM instant_chain WHERE lottery_id = ?${db.getDialect() === "mysql" ? " FOR UPDATE" : ""}`, { replacements: [lotteryId], type: QueryTypes.SELECT, transaction: t });
			const pending = await models.InstantLog.findAll({ where: { lotteryId, seq: null }, order: [["id", "ASC"]], limit: batch, transaction: t });
			if (!pending.length) return 0;
			let seq = Number(head.seq);
			let prev = head.head;
			const rows: Array<{ id: number; seq: number; prevHash: string; hash: string }> = [];
			for (const p of pending) {
				seq++;
				const hash = instantEntryHash({ lotteryId, seq, userId: Number(p.userId), prizeId: Number(p.prizeId), roll: p.roll, drawTime: Number(p.drawTime), prevHash: prev });
				rows.push({ id: Number(p.id), seq, prevHash: prev, hash });
				prev = hash;
			}
			for (let i = 0; i < rows.length; i += 200) {
				const chunk = rows.slice(i, i + 200);
				const cases = () => `CASE id ${chunk.map(() => "WHEN ? THEN ?").join(" ")} END`;
				await db.query(
					`UPDATE instant_draw_log SET seq = ${cases()}, prev_hash = ${cases()}, hash = ${cases()} WHERE id IN (${chunk.map(() => "?").join(",")})`,
					{
						replacements: [
							...chunk.flatMap(r => [r.id, r.seq]),
							...chunk.flatMap(r => [r.id, r.prevHash]),
							...chunk.flatMap(r => [r.id, r.hash]),
							...chunk.map(r => r.id),
						],
						transaction: t,
					},
				);
			}
			await db.query("UPDATE instant_chain SET seq = ?, head = ? WHERE lottery_id = ?", { replacements: [seq, prev, lotteryId], transaction: t });
			return rows.length;
		});
		linked += n;
		if (n < batch) return linked;
	}
}

/** Instant lotteries with outcomes not yet in their chain (after a crash, or on a node that did not link them). */
export async function lotteriesWithUnchainedOutcomes(models: Models, limit = 20): Promise<number[]> {
	const rows = await models.InstantLog.findAll({ attributes: ["lotteryId"], where: { seq: { [Op.is]: null } }, group: ["lotteryId"], limit });
	return rows.map(r => Number(r.lotteryId));
}
