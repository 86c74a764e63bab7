import { Op, QueryTypes, type Sequelize } from "sequelize";
import { DRAW_ALGORITHM, drawWinners, ParticipantsHasher, type Winner } from "../domain/draw";
import { AnnounceType, LotteryState } from "../domain/lottery";
import type { Models } from "../models";

/** What a completed draw produced. */
export interface DrawOutcome {
	lotteryId: number;
	announceType: number;
	participantCount: number;
	participantsHash: string;
	winners: Winner[];
}

export interface DrawEngineOptions {
	/** Who claims draws (the node id): the lease names it. */
	owner: string;
	/** How long a claim holds when its node goes silent. */
	leaseMs: number;
	/** Rows per participant page. */
	batchSize?: number;
	/** Test hook: runs inside the winners' transaction, just before it commits. */
	beforeCommit?: (lotteryId: number) => Promise<void>;
}

const nowSec = () => Math.floor(Date.now() / 1000);

/**
 * Scheduled draws, exactly once across any number of nodes:
 * 1. claim — one conditional UPDATE moves a due lottery (or one whose claimer's lease ran out) to DRAWING and
 *    names this node with a lease; from then on nobody can join, so the participant list is frozen;
 * 2. compute — participants are read in ascending user id, hashed, and drawn by domain/draw.ts;
 * 3. commit — one transaction checks the claim is still ours, writes every winner and the ANNOUNCED state.
 * A crash anywhere before 3 leaves no winners and a lease that expires; the next claimer redoes the whole
 * draw, and gets the same winners (same seed, same frozen list).
 */
export class DrawEngine {
	private readonly batchSize: number;

	constructor(private readonly db: Sequelize, private readonly models: Models, private readonly opts: DrawEngineOptions) {
		this.batchSize = opts.batchSize ?? 50_000;
	}

	/** Lotteries that are due now: their time came, their type-2 target was met, or their claimer died. */
	async due(limit: number): Promise<number[]> {
		const rows = await this.models.Lottery.findAll({
			attributes: ["id"],
			where: this.dueCondition(),
			order: [["announceTime", "ASC"]],
			limit,
		});
		return rows.map(r => Number(r.id));
	}

	private dueCondition() {
		const now = nowSec();
		const nowMs = Date.now();
		return {
			[Op.or]: [
				{
					state: LotteryState.OPEN,
					[Op.or]: [
						{ announceType: [AnnounceType.AT_TIME, AnnounceType.AT_JOIN_NUMBER], announceTime: { [Op.lte]: now } },
						{ announceType: AnnounceType.AT_JOIN_NUMBER, joinNumber: { [Op.gt]: 0 }, participantCount: { [Op.gte]: this.db.col("join_number") } },
						// an instant lottery with an end closes at it
						{ announceType: AnnounceType.INSTANT, announceTime: { [Op.gt]: 0, [Op.lte]: now } },
					],
				},
				{ state: LotteryState.DRAWING, drawLeaseUntil: { [Op.lt]: nowMs } },
			],
		};
	}

	/** Claims the lottery for this node if it is due and nobody holds it. */
	async claim(lotteryId: number): Promise<boolean> {
		const [claimed] = await this.models.Lottery.update(
			{
				state: LotteryState.DRAWING,
				drawOwner: this.opts.owner,
				drawLeaseUntil: Date.now() + this.opts.leaseMs,
				drawAttempts: this.db.literal("draw_attempts + 1") as unknown as number,
			},
			{ where: { id: lotteryId, ...this.dueCondition() } },
		);
		return claimed === 1;
	}

	/** Claims and draws one lottery. Null when it was not due or someone else holds it. */
	async draw(lotteryId: number): Promise<DrawOutcome | null> {
		if (!(await this.claim(lotteryId))) return null;
		try {
			return await this.drawClaimed(lotteryId);
		} catch (err) {
			await this.backOff(lotteryId, err as Error);
			throw err;
		}
	}

	private async drawClaimed(lotteryId: number): Promise<DrawOutcome> {
		const lottery = await this.models.Lottery.findByPk(lotteryId, { attributes: ["id", "seed", "announceType", "participantCount"] });
		if (!lottery?.seed) throw new Error(`lottery ${lotteryId} has no seed`);
		const prizes = (await this.models.Prize.findAll({ where: { lotteryId }, attributes: ["id", "level", "count"] })).map(p => ({ id: Number(p.id), level: p.level, count: p.count }));

		const { ids, hash } = await this.participants(lotteryId, lottery.participantCount);
		// Instant lotteries were decided one participant at a time: closing one only records the list.
		const result = lottery.announceType === AnnounceType.INSTANT
			? { participantsHash: hash, participantCount: ids.length, winners: [] as Winner[] }
			: drawWinners({ seed: lottery.seed, lotteryId, participants: ids, prizes, participantsHash: hash });

		await this.db.transaction(async t => {
			// First, and on the locked row: is the claim still ours? A node whose lease ran out stops here.
			const [mine] = await this.models.Lottery.update(
				{
					state: LotteryState.ANNOUNCED,
					announcedTime: nowSec(),
					participantsHash: result.participantsHash,
					drawAlgorithm: DRAW_ALGORITHM,
					drawOwner: null,
					drawLeaseUntil: null,
					drawError: null,
				},
				{ where: { id: lotteryId, state: LotteryState.DRAWING, drawOwner: this.opts.owner }, transaction: t },
			);
			if (mine !== 1) throw new Error(`lost the claim on lottery ${lotteryId}`);
			const byPrize = new Map<number, number[]>();
			for (const w of result.winners) byPrize.set(w.prizeId, [...(byPrize.get(w.prizeId) ?? []), w.userId]);
			for (const [prizeId, userIds] of byPrize) {
				for (let i = 0; i < userIds.length; i += 1000) {
					await this.models.Participation.update({ isWon: 1, prizeId }, { where: { lotteryId, userId: userIds.slice(i, i + 1000) }, transaction: t });
				}
				await this.models.Prize.update({ stock: this.db.literal(`stock - ${userIds.length}`) as unknown as number }, { where: { id: prizeId }, transaction: t });
			}
			if (this.opts.beforeCommit) await this.opts.beforeCommit(lotteryId);
		});
		return { lotteryId, announceType: lottery.announceType, participantCount: result.participantCount, participantsHash: result.participantsHash, winners: result.winners };
	}

	/** The frozen participant list, ascending, read in keyset pages and hashed on the way. */
	async participants(lotteryId: number, expected = 0): Promise<{ ids: Float64Array; hash: string }> {
		let ids = new Float64Array(Math.max(expected, 16));
		const hasher = new ParticipantsHasher();
		let after = 0;
		for (;;) {
			const page = await this.db.query<{ user_id: number | string }>(
				"SELECT user_id FROM lottery_participation WHERE lottery_id = :lotteryId AND user_id > :after ORDER BY user_id LIMIT :limit",
				{ type: QueryTypes.SELECT, replacements: { lotteryId, after, limit: this.batchSize } },
			);
			for (const row of page) {
				const userId = Number(row.user_id);
				if (hasher.count === ids.length) {
					const grown = new Float64Array(ids.length * 2);
					grown.set(ids);
					ids = grown;
				}
				ids[hasher.count] = userId;
				hasher.add(userId);
			}
			if (page.length < this.batchSize) break;
			after = Number(page[page.length - 1].user_id);
		}
		return { ids: ids.subarray(0, hasher.count), hash: hasher.digest() };
	}

	/** A failed draw keeps its claim a while longer (1 s, 2 s, 4 s … up to a minute), then anyone may retry. */
	private async backOff(lotteryId: number, err: Error): Promise<void> {
		const row = await this.models.Lottery.findByPk(lotteryId, { attributes: ["drawAttempts"] });
		const delay = Math.min(60_000, 1000 * 2 ** Math.max(0, (row?.drawAttempts ?? 1) - 1));
		await this.models.Lottery.update(
			{ drawLeaseUntil: Date.now() + delay, drawError: err.message.slice(0, 255) },
			{ where: { id: lotteryId, state: LotteryState.DRAWING, drawOwner: this.opts.owner } },
		).catch(() => undefined);
	}
}
