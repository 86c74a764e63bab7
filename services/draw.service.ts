import Redis from "ioredis";
import type { Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Op, QueryTypes, UniqueConstraintError, type Transaction } from "sequelize";
import { GENESIS_HASH, instantOutcome, rollInstant, verifyInstantChain } from "../domain/draw";
import { AppError, forbidden, notFound } from "../domain/errors";
import { AnnounceType, LotteryState, prizeProbability, STATE_NAMES, toPrizeView, type PrizeRecord, type PrizeView } from "../domain/lottery";
import type { Config } from "../lib/config";
import { shareLock } from "../lib/database";
import { DrawEngine, type DrawOutcome } from "../lib/draw-engine";
import { chainInstantLog, lotteriesWithUnchainedOutcomes } from "../lib/instant-chain";
import { countMetric } from "../lib/metrics";
import { lotteryCacheKeys } from "../lib/cache-keys";
import { recordEvents } from "../lib/outbox";
import { callerId, type Ctx } from "../lib/meta";
import { PrizePool, type PoolStocks } from "../lib/prize-pool";
import { CacheCleanerMixin } from "../mixins/cache-cleaner.mixin";
import { DbMixin, type DbServiceThis } from "../mixins/db.mixin";
import type { LotteryAggregate } from "./lottery.service";
import { id, optInt } from "../lib/params";

const nowSec = () => Math.floor(Date.now() / 1000);

export interface InstantResult {
	prizeId: number;
	prize: PrizeView | null;
}

interface DrawThis extends Service, DbServiceThis {
	engine: DrawEngine;
	pool: PrizePool | null;
	redis: Redis | null;
	timer: NodeJS.Timeout | null;
	wakeups: Map<number, NodeJS.Timeout>;
	ticking: Promise<void> | null;
	cleanCache(service: string, keys?: string[], patterns?: string[]): Promise<void>;
	tick(): Promise<void>;
	runDraw(lotteryId: number): Promise<DrawOutcome | null>;
	announce(outcome: DrawOutcome): Promise<void>;
	instant(ctx: Ctx<unknown>, lotteryId: number, userId: number): Promise<InstantResult>;
	existingOutcome(lotteryId: number, userId: number, prizes: PrizeView[]): Promise<InstantResult | null>;
	scheduleChain(lotteryId: number): void;
	chainTimers: Map<number, NodeJS.Timeout>;
	dbStocks(lotteryId: number, transaction?: Transaction): Promise<PoolStocks>;
	takeFromPool(lotteryId: number, prizeId: number, transaction: Transaction): Promise<boolean>;
	auditor(ctx: Ctx<unknown>, lotteryId: number): Promise<LotteryAggregate>;
	drawnLottery(lotteryId: number): Promise<import("../models").LotteryRow>;
}

/**
 * The draw service decides who wins: scheduled draws (types 1 and 2, exactly once whatever the number of draw
 * nodes, see lib/draw-engine.ts), their public proofs, and instant draws (type 3) against the prize pool.
 */
export function createDrawService(config: Config): ServiceSchema<ServiceSettingSchema, DrawThis> {
	return {
		name: "draw",
		mixins: [DbMixin(config, "Lottery"), CacheCleanerMixin([])],

		actions: {
			/** Operators: draw a due lottery now instead of at the next poll. */
			drawNow: {
				auth: "required",
				params: { lotteryId: id },
				async handler(this: DrawThis, ctx: Ctx<{ lotteryId: number }>) {
					if (!ctx.meta.user?.isAdmin) throw forbidden("only operators may trigger a draw");
					const outcome = await this.runDraw(ctx.params.lotteryId);
					if (!outcome) {
						const row = await this.models.Lottery.findByPk(ctx.params.lotteryId, { attributes: ["state"] });
						if (!row || row.state === LotteryState.DRAFT) throw notFound("lottery");
						if (row.state === LotteryState.ANNOUNCED) throw new AppError("LOTTERY_ANNOUNCED");
						if (row.state === LotteryState.CANCELLED) throw new AppError("LOTTERY_CANCELLED");
						throw new AppError("LOTTERY_NOT_DUE");
					}
					return { lotteryId: outcome.lotteryId, participantCount: outcome.participantCount, winnerCount: outcome.winners.length };
				},
			},

			/** Everything needed to recompute a drawn lottery's winners: the revealed seed and the stored result. */
			drawProof: {
				auth: "optional",
				params: { lotteryId: id },
				async handler(this: DrawThis, ctx: Ctx<{ lotteryId: number }>) {
					const lottery = await this.drawnLottery(ctx.params.lotteryId);
					const prizes = await this.models.Prize.findAll({ where: { lotteryId: lottery.id }, order: [["level", "ASC"]] });
					const levelOf = new Map(prizes.map(p => [Number(p.id), p.level]));
					const winners = await this.models.Participation.findAll({ where: { lotteryId: lottery.id, isWon: 1 }, attributes: ["userId", "prizeId"] });
					return {
						lotteryId: Number(lottery.id),
						announceType: lottery.announceType,
						algorithm: lottery.drawAlgorithm,
						seed: lottery.seed,
						seedCommitment: lottery.seedCommitment,
						participantsHash: lottery.participantsHash,
						participantCount: lottery.participantCount,
						announcedTime: Number(lottery.announcedTime),
						prizes: prizes.map(p => ({ id: Number(p.id), level: p.level, count: p.count })),
						winners: winners
							.map(w => ({ userId: Number(w.userId), prizeId: Number(w.prizeId), level: levelOf.get(Number(w.prizeId)) ?? 0 }))
							.sort((a, b) => a.level - b.level || a.userId - b.userId),
					};
				},
			},

			/** The frozen participant list of a drawn lottery, ascending by user id, page by page. */
			drawParticipants: {
				auth: "optional",
				params: { lotteryId: id, afterUserId: optInt(0, Number.MAX_SAFE_INTEGER), limit: optInt(1, 10_000) },
				async handler(this: DrawThis, ctx: Ctx<{ lotteryId: number; afterUserId?: number; limit?: number }>) {
					const lottery = await this.drawnLottery(ctx.params.lotteryId);
					const limit = ctx.params.limit ?? 1000;
					const rows = await this.models.Participation.findAll({
						where: { lotteryId: lottery.id, userId: { [Op.gt]: ctx.params.afterUserId ?? 0 } },
						attributes: ["userId"],
						order: [["userId", "ASC"]],
						limit,
					});
					const userIds = rows.map(r => Number(r.userId));
					return { userIds, next: userIds.length === limit ? userIds[userIds.length - 1] : 0 };
				},
			},

			instantParticipation: {
				auth: "required",
				params: { lotteryId: id },
				async handler(this: DrawThis, ctx: Ctx<{ lotteryId: number }>): Promise<InstantResult> {
					return this.instant(ctx, ctx.params.lotteryId, callerId(ctx));
				},
			},

			/** The hash-chained log of an instant lottery's outcomes, for its creator and operators. */
			instantLog: {
				auth: "required",
				params: { lotteryId: id, afterSeq: optInt(0, Number.MAX_SAFE_INTEGER), limit: optInt(1, 1000) },
				async handler(this: DrawThis, ctx: Ctx<{ lotteryId: number; afterSeq?: number; limit?: number }>) {
					const { lottery } = await this.auditor(ctx, ctx.params.lotteryId);
					// Link whatever is still waiting, so the log shown is complete up to now.
					await chainInstantLog(this.adapter.db, this.models, lottery.id);
					const afterSeq = ctx.params.afterSeq ?? 0;
					const rows = await this.models.InstantLog.findAll({
						where: { lotteryId: lottery.id, seq: { [Op.gt]: afterSeq } },
						order: [["seq", "ASC"]],
						limit: ctx.params.limit ?? 100,
					});
					const list = rows.map(r => {
						const e = r.get({ plain: true });
						return { seq: Number(e.seq), userId: Number(e.userId), prizeId: Number(e.prizeId), roll: e.roll, drawTime: Number(e.drawTime), prevHash: e.prevHash ?? "", hash: e.hash ?? "" };
					});
					const previous = afterSeq ? await this.models.InstantLog.findOne({ where: { lotteryId: lottery.id, seq: afterSeq } }) : null;
					const broken = verifyInstantChain(list.map(e => ({ ...e, lotteryId: lottery.id })), previous?.hash ?? GENESIS_HASH);
					return { list, chainIntact: broken === null, brokenAtSeq: broken ?? 0 };
				},
			},

			/** One pass over due lotteries (the timer runs it; operators and tests may too). */
			tick: {
				visibility: "public",
				async handler(this: DrawThis): Promise<void> {
					await this.tick();
				},
			},

			/** A lottery as an operator sees it: state, participants, prizes and stock, the draw's progress, the commitment. */
			status: {
				visibility: "public",
				params: { lotteryId: id },
				async handler(this: DrawThis, ctx: Ctx<{ lotteryId: number }>) {
					const l = await this.models.Lottery.findByPk(ctx.params.lotteryId);
					if (!l) throw notFound("lottery");
					const [participants, winners, prizes] = await Promise.all([
						this.models.Participation.count({ where: { lotteryId: l.id } }),
						this.models.Participation.count({ where: { lotteryId: l.id, isWon: 1 } }),
						this.models.Prize.findAll({ where: { lotteryId: l.id }, order: [["level", "ASC"]] }),
					]);
					return {
						id: Number(l.id), name: l.name, state: STATE_NAMES[l.state] ?? String(l.state), announceType: l.announceType,
						announceTime: Number(l.announceTime), joinNumber: l.joinNumber, participants, winners,
						prizes: prizes.map(p => ({ id: Number(p.id), level: p.level, name: p.name, count: p.count, stock: p.stock, probability: p.probability })),
						draw: { owner: l.drawOwner, leaseUntil: l.drawLeaseUntil ? Number(l.drawLeaseUntil) : null, attempts: l.drawAttempts, error: l.drawError, algorithm: l.drawAlgorithm },
						seedCommitment: l.seedCommitment,
					};
				},
			},

			/** Lotteries by state, participations, and draws and instant outcomes in the last hour. */
			stats: {
				visibility: "public",
				async handler(this: DrawThis) {
					const db = this.adapter.db;
					const hourAgo = nowSec() - 3600;
					const byState = await db.query<{ state: number; n: number }>("SELECT state, COUNT(*) AS n FROM lottery GROUP BY state", { type: QueryTypes.SELECT });
					const [[p], [d], [i]] = await Promise.all([
						db.query<{ n: number }>("SELECT COUNT(*) AS n FROM lottery_participation", { type: QueryTypes.SELECT }),
						db.query<{ n: number }>("SELECT COUNT(*) AS n FROM lottery WHERE state = ? AND announced_time >= ?", { replacements: [LotteryState.ANNOUNCED, hourAgo], type: QueryTypes.SELECT }),
						db.query<{ n: number; won: number }>("SELECT COUNT(*) AS n, SUM(CASE WHEN prize_id > 0 THEN 1 ELSE 0 END) AS won FROM instant_draw_log WHERE draw_time >= ?", { replacements: [hourAgo], type: QueryTypes.SELECT }),
					]);
					return {
						lotteries: Object.fromEntries(byState.map(r => [STATE_NAMES[Number(r.state)] ?? String(r.state), Number(r.n)])),
						participations: Number(p.n),
						drawsLastHour: Number(d.n),
						instantLastHour: { outcomes: Number(i.n), won: Number(i.won ?? 0) },
					};
				},
			},

			/** The instant prize pool beside the database's stock. */
			pool: {
				visibility: "public",
				params: { lotteryId: id },
				async handler(this: DrawThis, ctx: Ctx<{ lotteryId: number }>) {
					const db = await this.dbStocks(ctx.params.lotteryId);
					const redis = this.pool ? await this.pool.read(ctx.params.lotteryId) : null;
					const consistent = !this.pool || (redis !== null && Object.keys(db).every(k => redis[Number(k)] === db[Number(k)]));
					return { db, redis, consistent };
				},
			},

			/** Sets the Redis pool to the database's stock (after Redis lost writes or a node died half-way). */
			reconcilePool: {
				visibility: "public",
				params: { lotteryId: id },
				async handler(this: DrawThis, ctx: Ctx<{ lotteryId: number }>) {
					const db = await this.dbStocks(ctx.params.lotteryId);
					const before = this.pool ? await this.pool.read(ctx.params.lotteryId) : null;
					if (this.pool) await this.pool.reconcile(ctx.params.lotteryId, db);
					return { before, after: db };
				},
			},
		},

		events: {
			// A type-2 lottery's target was met: draw it now rather than at the next poll.
			"lottery.joinTargetReached": {
				params: { lotteryId: id },
				handler(this: DrawThis, ctx: Ctx<{ lotteryId: number }>) {
					this.runDraw(ctx.params.lotteryId).catch(err => this.logger.warn({ err, lotteryId: ctx.params.lotteryId }, "draw on join target failed; the poll retries"));
				},
			},
			// Wake up at the announce time, when it is near; the database poll stays the guarantee.
			"lottery.published": {
				params: { lotteryId: id, announceTime: { type: "number", convert: true } },
				handler(this: DrawThis, ctx: Ctx<{ lotteryId: number; announceTime: number }>) {
					const delay = ctx.params.announceTime * 1000 - Date.now();
					if (ctx.params.announceTime <= 0 || delay > 3_600_000) return;
					const timer = setTimeout(() => {
						this.wakeups.delete(ctx.params.lotteryId);
						this.runDraw(ctx.params.lotteryId).catch(() => undefined);
					}, Math.max(0, delay) + 50);
					timer.unref();
					this.wakeups.set(ctx.params.lotteryId, timer);
				},
			},
		},

		methods: {
			async tick(this: DrawThis): Promise<void> {
				if (this.ticking) return this.ticking;
				this.ticking = (async () => {
					try {
						for (const lotteryId of await lotteriesWithUnchainedOutcomes(this.models)) {
							await chainInstantLog(this.adapter.db, this.models, lotteryId).catch(err => this.logger.error({ err, lotteryId }, "linking instant outcomes failed"));
						}
						const due = await this.engine.due(20);
						// One at a time: a failing lottery is logged and backed off, the others go on.
						for (const lotteryId of due) {
							await this.runDraw(lotteryId).catch(err => this.logger.error({ err, lotteryId }, "draw failed; it will be retried"));
						}
					} finally {
						this.ticking = null;
					}
				})();
				return this.ticking;
			},

			async runDraw(this: DrawThis, lotteryId: number): Promise<DrawOutcome | null> {
				const outcome = await this.engine.draw(lotteryId);
				if (outcome) await this.announce(outcome);
				return outcome;
			},

			async announce(this: DrawThis, outcome: DrawOutcome): Promise<void> {
				this.logger.info({ lotteryId: outcome.lotteryId, participants: outcome.participantCount, winners: outcome.winners.length }, "lottery drawn");
				countMetric(this.broker, "draws");
				const winners = outcome.winners.map(w => `lottery.userCounts:${w.userId}`);
				await this.cleanCache("lottery", [...lotteryCacheKeys(outcome.lotteryId), ...(winners.length <= 1000 ? winners : [])], ["lottery.lotteryList*", ...(winners.length > 1000 ? ["lottery.userCounts:*"] : [])]);
				await this.broker.emit("lottery.drawn", {
					lotteryId: outcome.lotteryId,
					announceType: outcome.announceType,
					participantCount: outcome.participantCount,
					participantsHash: outcome.participantsHash,
					winners: outcome.winners.map(w => ({ userId: w.userId, prizeId: w.prizeId, level: w.level })),
				});
			},

			/**
			 * An instant draw: the roll decides the prize, the pool (Redis in a cluster) gives or refuses the
			 * stock, and one transaction records the participation, confirms the stock in SQL and appends to the
			 * hash chain. Whatever fails after a take gives the item back; a crash in between is what
			 * reconcilePool repairs.
			 */
			async instant(this: DrawThis, ctx: Ctx<unknown>, lotteryId: number, userId: number): Promise<InstantResult> {
				const { lottery, prizes } = await ctx.call<LotteryAggregate, { id: number }>("lottery.get", { id: lotteryId });
				if (lottery.state === LotteryState.DRAFT) throw notFound("lottery");
				if (lottery.announceType !== AnnounceType.INSTANT) throw new AppError("LOTTERY_NOT_INSTANT");
				const roll = rollInstant();
				const candidate = instantOutcome(roll, prizes.map(p => ({ id: p.id, level: p.level, probability: prizeProbability(p), stock: Number.POSITIVE_INFINITY })));
				let taken = false;
				let prizeId = 0;
				const db = this.adapter.db;
				try {
					// Plain statements on the hot path: this runs once per participant of the busiest lotteries.
					await db.transaction(async t => {
						const now = nowSec();
						// A shared lock: instant draws of one lottery run side by side, and a cancel waits for them.
						const [row] = await db.query<{ state: number; announceTime: number }>(
							`SELECT state, announce_time AS announceTime FROM lottery WHERE id = ?${shareLock(db)}`,
							{ replacements: [lotteryId], type: QueryTypes.SELECT, transaction: t },
						);
						if (row?.state === LotteryState.CANCELLED) throw new AppError("LOTTERY_CANCELLED");
						if (row?.state === LotteryState.ANNOUNCED) throw new AppError("LOTTERY_ANNOUNCED");
						if (!row || Number(row.state) !== LotteryState.OPEN || (Number(row.announceTime) && Number(row.announceTime) <= now)) throw new AppError("LOTTERY_CLOSED");
						// The attempt is claimed first: the same request again (even at the same moment) waits on this
						// row's unique key and then fails, so it never reaches the pool; it gets this outcome instead.
						await this.models.Participation.create({ lotteryId, userId, isWon: 0, prizeId: 0 }, { transaction: t });
						if (candidate) {
							taken = await this.takeFromPool(lotteryId, candidate.id, t);
							if (taken || !this.pool) {
								// The database's stock is the truth: the pool's yes is confirmed here, on the prize's row.
								const [, changed] = await db.query("UPDATE lottery_prize SET stock = stock - 1 WHERE id = ? AND stock > 0", { replacements: [candidate.id], type: QueryTypes.UPDATE, transaction: t });
								if (changed) {
									prizeId = candidate.id;
									await db.query("UPDATE lottery_participation SET is_won = 1, prize_id = ? WHERE lottery_id = ? AND user_id = ?", { replacements: [prizeId, lotteryId, userId], type: QueryTypes.UPDATE, transaction: t });
								}
							}
						}
						await recordEvents(db, t, [
							{ type: "participation.created", aggregate: { type: "lottery", id: lotteryId }, data: { lotteryId, userId, instant: true } },
							...(prizeId ? [{ type: "prize.won" as const, aggregate: { type: "lottery" as const, id: lotteryId }, data: { lotteryId, userId, prizeId, level: candidate!.level } }] : []),
						]);
						// Into the log now; its place in the hash chain comes from the chainer, right after.
						await db.query("INSERT INTO instant_draw_log (lottery_id, user_id, prize_id, roll, draw_time) VALUES (?, ?, ?, ?, ?)", { replacements: [lotteryId, userId, prizeId, roll, now], type: QueryTypes.INSERT, transaction: t });
					});
				} catch (err) {
					if (taken) await this.pool!.giveBack(lotteryId, candidate!.id).catch(e => this.logger.error({ err: e, lotteryId }, "could not give an item back to the pool: reconcile it"));
					// Asked again — at the same moment, or after the lottery closed: the first answer stands.
					if (err instanceof UniqueConstraintError || err instanceof AppError) {
						const first = await this.existingOutcome(lotteryId, userId, prizes);
						if (first) return first;
					}
					throw err;
				}
				// (The pool said yes and the database no? Then the pool was ahead of the truth, and its take moved it back.)
				this.scheduleChain(lotteryId);
				countMetric(this.broker, "participations", { kind: "instant" });
				countMetric(this.broker, "instantOutcomes", { won: prizeId ? "true" : "false" });
				if (candidate && !prizeId) countMetric(this.broker, "poolRefusals");
				await this.cleanCache("lottery", [...(prizeId ? lotteryCacheKeys(lotteryId) : []), `lottery.userCounts:${userId}`]);
				ctx.emit("lottery.participated", { lotteryId, userId, instant: true, prizeId });
				if (!prizeId) return { prizeId: 0, prize: null };
				const won = await this.models.Prize.findByPk(prizeId);
				return { prizeId, prize: won && toPrizeView(won.get({ plain: true }) as PrizeRecord) };
			},

			async existingOutcome(this: DrawThis, lotteryId: number, userId: number, prizes: PrizeView[]): Promise<InstantResult | null> {
				const p = await this.models.Participation.findOne({ where: { lotteryId, userId }, attributes: ["prizeId"] });
				if (!p) return null;
				const prizeId = Number(p.prizeId);
				return { prizeId, prize: prizes.find(x => x.id === prizeId) ?? null };
			},

			/** Links the lottery's new outcomes into its chain soon, once for a burst of requests. */
			scheduleChain(this: DrawThis, lotteryId: number): void {
				if (this.chainTimers.has(lotteryId)) return;
				const timer = setTimeout(() => {
					this.chainTimers.delete(lotteryId);
					chainInstantLog(this.adapter.db, this.models, lotteryId).catch(err => this.logger.warn({ err, lotteryId }, "linking instant outcomes failed; the poll retries"));
				}, 20);
				timer.unref();
				this.chainTimers.set(lotteryId, timer);
			},

			async dbStocks(this: DrawThis, lotteryId: number, transaction?: Transaction): Promise<PoolStocks> {
				const prizes = await this.models.Prize.findAll({ where: { lotteryId }, attributes: ["id", "stock"], transaction });
				return Object.fromEntries(prizes.map(p => [Number(p.id), p.stock]));
			},

			/** Embedded: no pool, the SQL update decides. Cluster: the Lua pool, built from the database when missing. */
			async takeFromPool(this: DrawThis, lotteryId: number, prizeId: number, transaction: Transaction): Promise<boolean> {
				if (!this.pool) return false;
				let got = await this.pool.take(lotteryId, prizeId);
				if (got === -1) {
					// Read on the caller's connection: asking the pool for another one from inside a transaction
					// can starve it.
					await this.pool.build(lotteryId, await this.dbStocks(lotteryId, transaction));
					got = await this.pool.take(lotteryId, prizeId);
				}
				return got === 1;
			},

			/** The lottery, once drawn: its proof and frozen list are public from then on. */
			async drawnLottery(this: DrawThis, lotteryId: number) {
				const lottery = await this.models.Lottery.findByPk(lotteryId);
				if (!lottery || lottery.state === LotteryState.DRAFT) throw notFound("lottery");
				if (lottery.state !== LotteryState.ANNOUNCED) throw new AppError("LOTTERY_NOT_DRAWN");
				return lottery;
			},

			async auditor(this: DrawThis, ctx: Ctx<unknown>, lotteryId: number): Promise<LotteryAggregate> {
				const agg = await ctx.call<LotteryAggregate, { id: number }>("lottery.get", { id: lotteryId });
				const user = ctx.meta.user;
				if (agg.lottery.userId !== user?.id && !user?.isAdmin) {
					if (agg.lottery.state === LotteryState.DRAFT) throw notFound("lottery");
					throw forbidden("only the creator and operators read the instant-draw log");
				}
				return agg;
			},
		},

		created(this: DrawThis) {
			this.wakeups = new Map();
			this.chainTimers = new Map();
			this.timer = null;
			this.ticking = null;
			this.redis = config.redisUri ? new Redis(config.redisUri, { lazyConnect: true, maxRetriesPerRequest: 2 }) : null;
			this.pool = this.redis ? new PrizePool(this.redis, `${config.namespace || "lottery"}:`) : null;
		},

		async started(this: DrawThis) {
			if (this.redis) await this.redis.connect();
			this.engine = new DrawEngine(this.adapter.db, this.models, { owner: this.broker.nodeID, leaseMs: config.drawLeaseMs });
			this.timer = setInterval(() => {
				this.tick().catch(err => this.logger.error({ err }, "draw poll failed"));
			}, config.drawPollMs);
		},

		async stopped(this: DrawThis) {
			if (this.timer) clearInterval(this.timer);
			for (const t of [...this.wakeups.values(), ...this.chainTimers.values()]) clearTimeout(t);
			await this.ticking?.catch(() => undefined);
			if (this.redis) await this.redis.quit().catch(() => undefined);
		},
	};
}
