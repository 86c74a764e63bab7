import { Op, QueryTypes, type Sequelize } from "sequelize";
import { DRAW_ALGORITHM, drawWinners, ParticipantsHasher, type Winner } from "../domain/draw";
import { AnnounceType, LotteryState } from "../domain/lottery";
import type { Models } from "../models";
import { chainInstantLog } from "./instant-chain";
import { recordEvents } from "./outbox";

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

interface MysqlConnection {
	query(options: { sql: string; values: unknown[]; rowsAsArray: boolean }): { stream(o: { highWaterMark: number }): NodeJS.ReadableStream };
}

/** A Float64Array that doubles when full: a million ids in 8 MB instead of a million boxed numbers. */
class GrowingIds {
	ids: Float64Array;
	length = 0;
	constructor(expected: number) {
		this.ids = new Float64Array(Math.max(expected, 16));
	}
	push(id: number): void {
		if (this.length === this.ids.length) {
			const grown = new Float64Array(this.ids.length * 2);
			grown.set(this.ids);
			this.ids = grown;
		}
		this.ids[this.length++] = id;
	}
}

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

		// An instant lottery's last outcomes join its chain before the list is frozen for the record.
		if (lottery.announceType === AnnounceType.INSTANT) await chainInstantLog(this.db, this.models, lotteryId);
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
					participantCount: result.participantCount,
					drawAlgorithm: DRAW_ALGORITHM,
					drawOwner: null,
					drawLeaseUntil: null,
					drawError: null,
				},
				{ where: { id: lotteryId, state: LotteryState.DRAWING, drawOwner: this.opts.owner }, transaction: t },
			);
			if (mine !== 1) throw new Error(`lost the claim on lottery ${lotteryId}`);
			// Every winner in a few statements (CASE by user), not one round trip per prize.
			for (let i = 0; i < result.winners.length; i += 1000) {
				const chunk = result.winners.slice(i, i + 1000);
				await this.db.query(
					`UPDATE lottery_participation SET is_won = 1, prize_id = CASE user_id ${chunk.map(() => "WHEN ? THEN ?").join(" ")} END
					WHERE lottery_id = ? AND user_id IN (${chunk.map(() => "?").join(",")})`,
					{ replacements: [...chunk.flatMap(w => [w.userId, w.prizeId]), lotteryId, ...chunk.map(w => w.userId)], transaction: t },
				);
			}
			const given = new Map<number, number>();
			for (const w of result.winners) given.set(w.prizeId, (given.get(w.prizeId) ?? 0) + 1);
			if (given.size) {
				await this.db.query(
					`UPDATE lottery_prize SET stock = stock - CASE id ${[...given].map(() => "WHEN ? THEN ?").join(" ")} ELSE 0 END WHERE id IN (${[...given].map(() => "?").join(",")})`,
					{ replacements: [...[...given].flat(), ...given.keys()], transaction: t },
				);
			}
			const ref = { type: "lottery" as const, id: lotteryId };
			await recordEvents(this.db, t, [
				{ type: "lottery.drawn", aggregate: ref, data: { lotteryId, announceType: lottery.announceType, participantCount: result.participantCount, participantsHash: result.participantsHash, winnerCount: result.winners.length } },
				...result.winners.map(w => ({ type: "prize.won" as const, aggregate: ref, data: { lotteryId, userId: w.userId, prizeId: w.prizeId, level: w.level } })),
			]);
			if (this.opts.beforeCommit) await this.opts.beforeCommit(lotteryId);
		});
		return { lotteryId, announceType: lottery.announceType, participantCount: result.participantCount, participantsHash: result.participantsHash, winners: result.winners };
	}

	/** The frozen participant list, ascending, hashed on the way in. */
	async participants(lotteryId: number, expected = 0): Promise<{ ids: Float64Array; hash: string }> {
		const list = new GrowingIds(expected);
		const hasher = new ParticipantsHasher();
		const flush = () => {
			hasher.addMany(list.ids, hasher.count, list.length);
		};
		if (this.db.getDialect() === "mysql") {
			// One streamed query on a pooled connection, rows as arrays: as close to the wire as mysql2 goes.
			const cm = this.db.connectionManager as unknown as { getConnection(o: object): Promise<MysqlConnection>; releaseConnection(c: unknown): Promise<void> };
			const conn = await cm.getConnection({ type: "read" });
			try {
				await new Promise<void>((resolve, reject) => {
					conn.query({ sql: "SELECT user_id FROM lottery_participation WHERE lottery_id = ? ORDER BY user_id", values: [lotteryId], rowsAsArray: true })
						.stream({ highWaterMark: 10_000 })
						.on("data", (row: [number | string]) => {
							list.push(Number(row[0]));
							if (list.length - hasher.count >= 10_000) flush();
						})
						.on("end", () => resolve())
						.on("error", reject);
				});
			} finally {
				await cm.releaseConnection(conn);
			}
		} else {
			for (let after = 0; ;) {
				const page = await this.db.query<{ user_id: number | string }>(
					"SELECT user_id FROM lottery_participation WHERE lottery_id = :lotteryId AND user_id > :after ORDER BY user_id LIMIT :limit",
					{ type: QueryTypes.SELECT, replacements: { lotteryId, after, limit: this.batchSize } },
				);
				for (const row of page) list.push(Number(row.user_id));
				flush();
				if (page.length < this.batchSize) break;
				after = Number(page[page.length - 1].user_id);
			}
		}
		flush();
		return { ids: list.ids.subarray(0, list.length), hash: hasher.digest() };
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
