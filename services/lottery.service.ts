import type { Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { col, Op, QueryTypes, UniqueConstraintError, type Sequelize, type Transaction, type WhereOptions } from "sequelize";
import { newSeed, seedCommitment } from "../domain/draw";
import { AppError, forbidden, invalidParam, notFound } from "../domain/errors";
import {
	AnnounceType, LIMITS, LotteryState, STATE_NAMES, toLotteryPrizeView, toLotteryView, toPrizeView, toPublicUserInfo, validateLottery,
	type LotteryDraft, type LotteryInput, type LotteryPrizeView, type LotteryRecord, type LotteryView, type PrizeRecord,
	type PrizeView, type PublicUserInfo,
} from "../domain/lottery";
import type { SponsorView, UserCounts, UserInfo } from "../domain/user";
import type { Config } from "../lib/config";
import { packedTransactions, shareLock } from "../lib/database";
import { isDuplicateKey, type PackedTransactions, type Statement } from "../lib/packed-sql";
import { CACHE_KEYS, lotteryCacheKeys, readThrough } from "../lib/cache-keys";
import { LocalCache } from "../lib/local-cache";
import { callerId, type Ctx } from "../lib/meta";
import { countMetric } from "../lib/metrics";
import { Batcher, type Outcome } from "../lib/batcher";
import { outboxInsertsWhere, recordEvent } from "../lib/outbox";
import { CacheCleanerMixin } from "../mixins/cache-cleaner.mixin";
import { DbMixin, type DbServiceThis } from "../mixins/db.mixin";
import type { LotteryRow, PrizeRow } from "../models";
import { id, optInt } from "../lib/params";

const now = (): number => Math.floor(Date.now() / 1000);

/** A lottery as other services see it: the record and its prizes (cached per id by `lottery.get`). */
export interface LotteryAggregate {
	lottery: LotteryView & { state: number; seedCommitment: string; drawAlgorithm: string };
	prizes: PrizeView[];
}

/** A fresh secret seed and its public commitment, made when a lottery is published. */
function commitment(): { seed: string; seedCommitment: string } {
	const seed = newSeed();
	return { seed, seedCommitment: seedCommitment(seed) };
}

/** One user joining one lottery. */
interface Join {
	lotteryId: number;
	userId: number;
}

/** What a join reads of the lottery, on its locked row. */
interface JoinableRow {
	id: number;
	state: number;
	announceType: number;
	announceTime: number;
}

/** A type 1 lottery takes joins while it is open and its announce time is ahead. */
function joinableAtTime(row: JoinableRow, at: number): boolean {
	return Number(row.state) === LotteryState.OPEN && Number(row.announceType) === AnnounceType.AT_TIME && Number(row.announceTime) > at;
}

/** joinableAtTime in SQL, on a lottery row aliased `g`; its values are OPEN, AT_TIME and the time now. */
const JOINABLE_SQL = "g.state = ? AND g.announce_type = ? AND g.announce_time > ?";

/** Each join's outcome, and the joins that go in. */
interface JoinDecision {
	outcomes: Array<Outcome<void>>;
	joined: Join[];
}

/**
 * What a batch of type 1 joins comes to, given the lotteries' locked rows and the pairs that joined before: a
 * refusal where the lottery takes no joins, ALREADY_PARTICIPATED for a pair that is in (or earlier in the
 * batch), and in for the rest.
 */
function decideJoins(items: Join[], rows: JoinableRow[], existing: Join[], at: number): JoinDecision {
	const byId = new Map(rows.map(r => [Number(r.id), r]));
	const taken = new Set(existing.map(e => `${e.lotteryId}:${e.userId}`));
	const outcomes: Array<Outcome<void>> = [];
	const joined: Join[] = [];
	for (const item of items) {
		const row = byId.get(item.lotteryId);
		const key = `${item.lotteryId}:${item.userId}`;
		if (!row || !joinableAtTime(row, at)) outcomes.push({ ok: false, error: refusal(row) });
		else if (taken.has(key)) outcomes.push({ ok: false, error: new AppError("ALREADY_PARTICIPATED") });
		else {
			taken.add(key);
			joined.push(item);
			outcomes.push({ ok: true, value: undefined });
		}
	}
	return { outcomes, joined };
}

/** The outbox event of a type 1 join. */
function participationEvent(j: Join) {
	return { type: "participation.created" as const, aggregate: { type: "lottery" as const, id: j.lotteryId }, data: { lotteryId: j.lotteryId, userId: j.userId } };
}

/** The lotteries of a batch of joins, read under a shared lock: no draw or cancel slips in until the commit. */
function lockLotteries(db: Sequelize, joins: Join[]): Statement {
	return [`SELECT id, state, announce_type AS announceType, announce_time AS announceTime FROM lottery WHERE id IN (?)${shareLock(db)}`, [[...new Set(joins.map(j => j.lotteryId))]]];
}

/**
 * The participation rows and outbox events of `joins` (each pair once), each inserted only where its lottery
 * takes joins at `at` (JOINABLE_SQL on the row the transaction locked): the same rule decideJoins applies.
 */
function joinInserts(joins: Join[], at: number): Statement[] {
	const time = new Date();
	const joinable = { where: JOINABLE_SQL, values: [LotteryState.OPEN, AnnounceType.AT_TIME, at] };
	const pairs = joins.map((_, i) => (i ? "SELECT ?, ?" : "SELECT ? AS lottery_id, ? AS user_id")).join(" UNION ALL ");
	return [
		[
			`INSERT INTO lottery_participation (lottery_id, user_id, is_won, prize_id, create_time, update_time) SELECT v.lottery_id, v.user_id, 0, 0, ?, ? FROM (${pairs}) v JOIN lottery g ON g.id = v.lottery_id WHERE ${joinable.where}`,
			[time, time, ...joins.flatMap(j => [j.lotteryId, j.userId]), ...joinable.values],
		],
		...outboxInsertsWhere(joins.map(participationEvent), { table: "lottery", ids: joins.map(j => j.lotteryId), ...joinable }),
	];
}

/** Why a lottery (its row, or none) refuses a join. */
function refusal(row: { state: number | string; announceType: number | string } | undefined): AppError {
	const state = Number(row?.state);
	if (!row || state === LotteryState.DRAFT) return notFound("lottery");
	if (state === LotteryState.CANCELLED) return new AppError("LOTTERY_CANCELLED");
	if (state === LotteryState.ANNOUNCED) return new AppError("LOTTERY_ANNOUNCED");
	if (Number(row.announceType) === AnnounceType.INSTANT) return new AppError("LOTTERY_IS_INSTANT");
	return new AppError("LOTTERY_CLOSED");
}

/** go-lottery's `UserLotteryList` item. */
interface UserLotteryItem {
	id: number;
	lottery_id: number;
	user_id: number;
	is_won: number;
	create_time: number;
	prize: LotteryPrizeView | null;
}

interface LotteryThis extends Service, DbServiceThis {
	cleanCache(service: string, keys?: string[], patterns?: string[]): Promise<void>;
	aggregate(ctx: Ctx<unknown>, id: number): Promise<LotteryAggregate>;
	visibleAggregate(ctx: Ctx<unknown>, id: number): Promise<LotteryAggregate>;
	ownDraft(id: number, userId: number, t: Transaction): Promise<LotteryRow>;
	checkSponsor(ctx: Ctx<unknown>, sponsorId: number): Promise<void>;
	writePrizes(lotteryId: number, draft: LotteryDraft, t: Transaction): Promise<void>;
	lotteryChanged(id: number, lists?: boolean): Promise<void>;
	refuseParticipation(lotteryId: number, t: Transaction): Promise<never>;
	writeAtTimeJoins(items: Join[]): Promise<Array<Outcome<void>>>;
	joinInOneExchange(packed: PackedTransactions, items: Join[]): Promise<JoinDecision>;
	joinInTwoSteps(packed: PackedTransactions, items: Join[]): Promise<JoinDecision>;
	joins: Batcher<Join, void>;
	/** Announce types of published lotteries (they never change after publishing). */
	announceTypes: LocalCache<number>;
	announceTypeOf(ctx: Ctx<unknown>, lotteryId: number): Promise<number>;
	userLotteryItems(rows: Array<{ id: number; lotteryId: number; userId: number; isWon: number; prizeId: number; createTime: Date }>): Promise<UserLotteryItem[]>;
	publicUsers(ctx: Ctx<unknown>, ids: number[]): Promise<Map<number, PublicUserInfo>>;
}

// --- parameter rules (fastest-validator); numbers may arrive as strings, as go-zero accepted ---------------
const cursor = { lastId: optInt(0, Number.MAX_SAFE_INTEGER), size: optInt(0, 10_000) };

const prizeRule = {
	type: "object",
	strict: "remove",
	props: {
		type: { type: "number", integer: true, min: 1, max: 9, convert: true },
		name: { type: "string", min: 1, max: LIMITS.prizeName },
		count: { type: "number", integer: true, convert: true },
		thumb: { type: "string", max: LIMITS.thumb, optional: true },
		level: { type: "number", integer: true, min: 1, max: LIMITS.prizesMax, convert: true },
		grantType: { type: "number", integer: true, min: 1, max: 3, convert: true },
		probability: { type: "number", integer: true, min: 0, max: 10_000, convert: true, optional: true, nullable: true },
	},
} as const;

const lotteryFields = {
	name: { type: "string", max: LIMITS.lotteryName, optional: true },
	thumb: { type: "string", max: LIMITS.thumb, optional: true },
	announceType: { type: "number", integer: true, min: 1, max: 3, convert: true },
	announceTime: optInt(0, 99_999_999_999),
	joinNumber: optInt(0, LIMITS.joinNumberMax),
	introduce: { type: "string", max: LIMITS.introduce, optional: true },
	awardDeadline: optInt(0, 99_999_999_999),
	sponsorId: optInt(0, Number.MAX_SAFE_INTEGER),
	prizes: { type: "array", items: prizeRule, max: LIMITS.prizesMax },
	isClocked: optInt(0, 1),
	clockTask: { type: "object", optional: true, nullable: true },
	publishType: optInt(1, 2),
} as const;

const pageOf = (size: number | undefined, def = 10) => Math.min(LIMITS.pageSizeMax, size || def);

/** The record other services may see: never the seed, which only drawProof reveals after the draw. */
function plainLottery(row: LotteryRow): LotteryAggregate["lottery"] {
	const r = row.get({ plain: true });
	return { ...toLotteryView(r as unknown as LotteryRecord), state: r.state, seedCommitment: r.seedCommitment ?? "", drawAlgorithm: r.drawAlgorithm ?? "" };
}

/** Lotteries and participations: create, publish, list, join. Draws come from the draw service. */
export function createLotteryService(config: Config): ServiceSchema<ServiceSettingSchema, LotteryThis> {
	return {
		name: "lottery",
		mixins: [DbMixin(config, "Lottery"), CacheCleanerMixin(["lottery"])],

		created(this: LotteryThis) {
			// Never stale, so no time limit: only the size bound (oldest out first).
			this.announceTypes = new LocalCache(100_000, Infinity);
			// Two batches in flight (one per packed connection, lib/database.ts): while one commits, the next one
			// gathers. More would only make each smaller.
			this.joins = new Batcher(items => this.writeAtTimeJoins(items), { maxBatch: 200, parallel: 2 });
		},

		actions: {
			createLottery: {
				auth: "required",
				params: lotteryFields,
				async handler(this: LotteryThis, ctx: Ctx<LotteryInput>): Promise<{ id: number }> {
					const userId = callerId(ctx);
					const draft = validateLottery(ctx.params, now());
					await this.checkSponsor(ctx, draft.sponsorId);
					const lottery = await this.adapter.db.transaction(async t => {
						const row = await this.models.Lottery.create({
							userId,
							name: draft.name,
							thumb: draft.thumb,
							introduce: draft.introduce,
							state: draft.publish ? LotteryState.OPEN : LotteryState.DRAFT,
							publishTime: draft.publish ? now() : null,
							announceType: draft.announceType,
							announceTime: draft.announceTime,
							joinNumber: draft.joinNumber,
							awardDeadline: draft.awardDeadline,
							sponsorId: draft.sponsorId,
							isClocked: draft.isClocked,
							clockTask: draft.clockTask,
							...(draft.publish ? commitment() : {}),
						}, { transaction: t });
						await this.writePrizes(Number(row.id), draft, t);
						const ref = { type: "lottery" as const, id: Number(row.id) };
						await recordEvent(this.adapter.db, t, "lottery.created", ref, { lotteryId: Number(row.id), userId, announceType: draft.announceType, published: draft.publish });
						if (draft.publish) await recordEvent(this.adapter.db, t, "lottery.published", ref, { lotteryId: Number(row.id), announceType: draft.announceType, announceTime: draft.announceTime, seedCommitment: row.seedCommitment });
						return row;
					});
					const lotteryId = Number(lottery.id);
					await this.lotteryChanged(lotteryId);
					await this.cleanCache("lottery", [`lottery.userCounts:${userId}`]);
					ctx.emit("lottery.created", { lotteryId, userId, published: draft.publish });
					if (draft.publish) ctx.emit("lottery.published", { lotteryId, announceType: draft.announceType, announceTime: draft.announceTime });
					return { id: lotteryId };
				},
			},

			updateLottery: {
				auth: "required",
				params: {
					id,
					...lotteryFields,
					announceType: { ...lotteryFields.announceType, optional: true },
					prizes: { ...lotteryFields.prizes, optional: true },
					publishType: { type: "any", optional: true },
				},
				async handler(this: LotteryThis, ctx: Ctx<Partial<LotteryInput> & { id: number }>): Promise<Record<string, never>> {
					const userId = callerId(ctx);
					const { id: lotteryId, ...changes } = ctx.params;
					await this.adapter.db.transaction(async t => {
						const current = await this.ownDraft(lotteryId, userId, t);
						const prizes = changes.prizes ?? (await this.models.Prize.findAll({ where: { lotteryId }, transaction: t })).map(p => p.get({ plain: true }));
						const c = current.get({ plain: true });
						const draft = validateLottery({
							name: changes.name ?? c.name,
							thumb: changes.thumb ?? c.thumb,
							introduce: changes.introduce ?? c.introduce,
							announceType: changes.announceType ?? c.announceType,
							announceTime: changes.announceTime ?? Number(c.announceTime),
							joinNumber: changes.joinNumber ?? c.joinNumber,
							awardDeadline: changes.awardDeadline ?? Number(c.awardDeadline),
							sponsorId: changes.sponsorId ?? Number(c.sponsorId),
							isClocked: changes.isClocked ?? c.isClocked,
							clockTask: changes.clockTask ?? (c.clockTask ? JSON.parse(c.clockTask) : undefined),
							publishType: 2,
							prizes,
						}, now());
						if (changes.sponsorId !== undefined) await this.checkSponsor(ctx, draft.sponsorId);
						await current.update({
							name: draft.name, thumb: draft.thumb, introduce: draft.introduce, announceType: draft.announceType,
							announceTime: draft.announceTime, joinNumber: draft.joinNumber, awardDeadline: draft.awardDeadline,
							sponsorId: draft.sponsorId, isClocked: draft.isClocked, clockTask: draft.clockTask,
						}, { transaction: t });
						if (changes.prizes) {
							await this.models.Prize.destroy({ where: { lotteryId }, transaction: t });
							await this.writePrizes(lotteryId, draft, t);
						}
					});
					await this.lotteryChanged(lotteryId, false);
					return {};
				},
			},

			publishLottery: {
				auth: "required",
				params: { id },
				async handler(this: LotteryThis, ctx: Ctx<{ id: number }>): Promise<Record<string, never>> {
					const userId = callerId(ctx);
					const published = await this.adapter.db.transaction(async t => {
						const draft = await this.ownDraft(ctx.params.id, userId, t);
						const c = draft.get({ plain: true });
						// The times may have passed while it was a draft: the same rules as for a new lottery.
						const prizes = (await this.models.Prize.findAll({ where: { lotteryId: c.id }, transaction: t })).map(p => p.get({ plain: true }));
						validateLottery({ ...c, announceTime: Number(c.announceTime), awardDeadline: Number(c.awardDeadline), sponsorId: Number(c.sponsorId), prizes, clockTask: undefined }, now());
						await draft.update({ state: LotteryState.OPEN, publishTime: now(), ...commitment() }, { transaction: t });
						await recordEvent(this.adapter.db, t, "lottery.published", { type: "lottery", id: c.id }, { lotteryId: Number(c.id), announceType: c.announceType, announceTime: Number(c.announceTime), seedCommitment: draft.seedCommitment });
						return c;
					});
					await this.lotteryChanged(ctx.params.id);
					await this.cleanCache("lottery", [`lottery.userCounts:${userId}`]);
					ctx.emit("lottery.published", { lotteryId: ctx.params.id, announceType: published.announceType, announceTime: Number(published.announceTime) });
					return {};
				},
			},

			cancelLottery: {
				auth: "required",
				params: { id },
				async handler(this: LotteryThis, ctx: Ctx<{ id: number }>): Promise<Record<string, never>> {
					const userId = callerId(ctx);
					const lotteryId = ctx.params.id;
					// Operators may cancel any lottery not yet drawn; creators only one that nobody joined.
					const admin = ctx.meta.user?.isAdmin === true;
					const db = this.adapter.db;
					await db.transaction(async t => {
						// The row's exclusive lock waits for every join in flight (they hold it shared, or exclusively
						// for type 2) and keeps new ones out until this commits.
						const row = await this.models.Lottery.findByPk(lotteryId, { transaction: t, lock: t.LOCK.UPDATE });
						if (!row || (row.state === LotteryState.DRAFT && Number(row.userId) !== userId && !admin)) throw notFound("lottery");
						if (Number(row.userId) !== userId && !admin) throw forbidden("only the creator may cancel a lottery");
						if (row.state === LotteryState.CANCELLED) throw new AppError("LOTTERY_CANCELLED");
						if (row.state !== LotteryState.DRAFT && row.state !== LotteryState.OPEN) throw new AppError("LOTTERY_ANNOUNCED");
						if (!admin) {
							// A locking read sees every committed participation, instant ones included.
							const [joined] = await db.query<{ n: number }>(
								`SELECT COUNT(*) AS n FROM lottery_participation WHERE lottery_id = ?${shareLock(db)}`,
								{ replacements: [lotteryId], type: QueryTypes.SELECT, transaction: t },
							);
							if (Number(joined.n) > 0) throw new AppError("LOTTERY_HAS_PARTICIPANTS");
						}
						await row.update({ state: LotteryState.CANCELLED, cancelTime: now() }, { transaction: t });
						await recordEvent(db, t, "lottery.cancelled", { type: "lottery", id: lotteryId }, { lotteryId, by: userId, asOperator: admin });
					});
					await this.lotteryChanged(lotteryId);
					ctx.emit("lottery.cancelled", { lotteryId, userId });
					return {};
				},
			},

			setLotterySelected: {
				auth: "required",
				params: { id, isSelected: { type: "number", integer: true, min: 0, max: 1, convert: true } },
				async handler(this: LotteryThis, ctx: Ctx<{ id: number; isSelected: number }>): Promise<Record<string, never>> {
					if (!ctx.meta.user?.isAdmin) throw forbidden("only operators may feature lotteries");
					const [changed] = await this.models.Lottery.update({ isSelected: ctx.params.isSelected }, { where: { id: ctx.params.id, state: { [Op.ne]: LotteryState.DRAFT } } });
					if (!changed) throw notFound("lottery");
					await this.lotteryChanged(ctx.params.id);
					return {};
				},
			},

			/**
			 * A lottery as its page shows it. What anonymous visitors see is the same for all of them, so it is
			 * cached (cleaned with every other key of the lottery, see lotteryCacheKeys, and by sponsor edits);
			 * a signed-in viewer's answer also says whether they joined, and is made afresh.
			 */
			lotteryDetail: {
				auth: "optional",
				cache: { enabled: (ctx: Ctx<unknown>) => !ctx.meta.user, keys: ["id"], ttl: 60 },
				params: { id },
				async handler(this: LotteryThis, ctx: Ctx<{ id: number }>) {
					const { lottery, prizes } = await this.visibleAggregate(ctx, ctx.params.id);
					const viewer = ctx.meta.user?.id;
					const [sponsor, participated] = await Promise.all([
						lottery.sponsorId ? ctx.call<SponsorView | null, { id: number }>("users.getSponsor", { id: lottery.sponsorId }) : Promise.resolve(null),
						viewer ? this.models.Participation.count({ where: { lotteryId: lottery.id, userId: viewer } }) : Promise.resolve(0),
					]);
					const { state, ...view } = lottery;
					return {
						...view,
						prizes,
						sponsor: sponsor && {
							id: sponsor.id, userId: sponsor.userId, type: sponsor.type, appletType: sponsor.appletType, name: sponsor.name,
							desc: sponsor.desc, avatar: sponsor.avatar, isShow: sponsor.isShow, qrCode: sponsor.qr_code, inputA: sponsor.inputA, inputB: sponsor.inputB,
						},
						isParticipated: participated ? 1 : 0,
						state: STATE_NAMES[state],
					};
				},
			},

			/** Open lotteries, newest first, from a cursor. Cached; cleaned when any lottery changes. */
			lotteryList: {
				cache: { keys: ["lastId", "pageSize", "isSelected"], ttl: 60 },
				params: { lastId: optInt(0, Number.MAX_SAFE_INTEGER), pageSize: optInt(0, 10_000), isSelected: optInt(0, 1) },
				async handler(this: LotteryThis, ctx: Ctx<{ lastId?: number; pageSize?: number; isSelected?: number }>): Promise<{ list: LotteryView[] }> {
					const where: WhereOptions = {
						state: LotteryState.OPEN,
						...(ctx.params.isSelected ? { isSelected: 1 } : {}),
						...(ctx.params.lastId ? { id: { [Op.lt]: ctx.params.lastId } } : {}),
					};
					const rows = await this.models.Lottery.findAll({ where, order: [["id", "DESC"]], limit: pageOf(ctx.params.pageSize) });
					return { list: rows.map(r => toLotteryView(r.get({ plain: true }) as unknown as LotteryRecord)) };
				},
			},

			/** The same by page (go-lottery's "slow" list); pages start at 1. Cached like lotteryList. */
			lotteryListSlow: {
				cache: { keys: ["pageIndex", "pageSize", "isSelected"], ttl: 60 },
				params: { pageIndex: optInt(0, 1_000_000), pageSize: optInt(0, 10_000), isSelected: optInt(0, 1) },
				async handler(this: LotteryThis, ctx: Ctx<{ pageIndex?: number; pageSize?: number; isSelected?: number }>): Promise<{ list: LotteryView[] }> {
					const pageSize = pageOf(ctx.params.pageSize);
					const page = Math.max(1, ctx.params.pageIndex || 1);
					const rows = await this.models.Lottery.findAll({
						where: { state: LotteryState.OPEN, ...(ctx.params.isSelected ? { isSelected: 1 } : {}) },
						order: [["id", "DESC"]],
						limit: pageSize,
						offset: (page - 1) * pageSize,
					});
					return { list: rows.map(r => toLotteryView(r.get({ plain: true }) as unknown as LotteryRecord)) };
				},
			},

			lotteryListAfterLogin: {
				auth: "required",
				params: { lastId: optInt(0, Number.MAX_SAFE_INTEGER), pageSize: optInt(0, 10_000), isSelected: optInt(0, 1) },
				async handler(this: LotteryThis, ctx: Ctx<{ lastId?: number; pageSize?: number; isSelected?: number }>): Promise<{ list: LotteryView[] }> {
					// One anti-join on the (lottery_id, user_id) unique index, however long the caller's history.
					const rows = await this.adapter.db.query<LotteryRecord>(
						`SELECT l.id, l.user_id AS userId, l.name, l.thumb, l.introduce, l.state, l.publish_time AS publishTime,
							l.announce_type AS announceType, l.announce_time AS announceTime, l.join_number AS joinNumber,
							l.award_deadline AS awardDeadline, l.is_selected AS isSelected, l.sponsor_id AS sponsorId
						FROM lottery l
						LEFT JOIN lottery_participation p ON p.lottery_id = l.id AND p.user_id = :userId
						WHERE l.state = :open AND p.id IS NULL ${ctx.params.lastId ? "AND l.id < :lastId" : ""} ${ctx.params.isSelected ? "AND l.is_selected = 1" : ""}
						ORDER BY l.id DESC LIMIT :limit`,
						{ type: QueryTypes.SELECT, replacements: { userId: callerId(ctx), open: LotteryState.OPEN, lastId: ctx.params.lastId ?? 0, limit: pageOf(ctx.params.pageSize) } },
					);
					return { list: rows.map(toLotteryView) };
				},
			},

			getUserCreatedLotteryList: {
				auth: "required",
				params: cursor,
				async handler(this: LotteryThis, ctx: Ctx<{ lastId?: number; size?: number }>): Promise<{ list: LotteryView[] }> {
					const where: WhereOptions = { userId: callerId(ctx), ...(ctx.params.lastId ? { id: { [Op.lt]: ctx.params.lastId } } : {}) };
					const rows = await this.models.Lottery.findAll({ where, order: [["id", "DESC"]], limit: pageOf(ctx.params.size) });
					return { list: rows.map(r => toLotteryView(r.get({ plain: true }) as unknown as LotteryRecord)) };
				},
			},

			getUserAllLotteryList: {
				auth: "required",
				params: cursor,
				async handler(this: LotteryThis, ctx: Ctx<{ lastId?: number; size?: number }>): Promise<{ list: UserLotteryItem[] }> {
					const where: WhereOptions = { userId: callerId(ctx), ...(ctx.params.lastId ? { id: { [Op.lt]: ctx.params.lastId } } : {}) };
					const rows = await this.models.Participation.findAll({ where, order: [["id", "DESC"]], limit: pageOf(ctx.params.size) });
					return { list: await this.userLotteryItems(rows.map(r => r.get({ plain: true }))) };
				},
			},

			getLotteryWinList: {
				auth: "required",
				params: cursor,
				async handler(this: LotteryThis, ctx: Ctx<{ lastId?: number; size?: number }>): Promise<{ list: UserLotteryItem[] }> {
					const where: WhereOptions = { userId: callerId(ctx), isWon: 1, ...(ctx.params.lastId ? { id: { [Op.lt]: ctx.params.lastId } } : {}) };
					const rows = await this.models.Participation.findAll({ where, order: [["id", "DESC"]], limit: pageOf(ctx.params.size) });
					return { list: await this.userLotteryItems(rows.map(r => r.get({ plain: true }))) };
				},
			},

			getLotteryWinnersList: {
				auth: "optional",
				params: { lotteryId: id },
				async handler(this: LotteryThis, ctx: Ctx<{ lotteryId: number }>) {
					const { prizes } = await this.visibleAggregate(ctx, ctx.params.lotteryId);
					const winners = await this.models.Participation.findAll({
						where: { lotteryId: ctx.params.lotteryId, isWon: 1 },
						attributes: ["userId", "prizeId"],
						order: [["id", "ASC"]],
					});
					const users = await this.publicUsers(ctx, winners.map(w => Number(w.userId)));
					const list = [...prizes].sort((a, b) => a.level - b.level).map(prize => {
						const mine = winners.filter(w => Number(w.prizeId) === prize.id);
						return {
							prize: toLotteryPrizeView(prize),
							winnerCount: mine.length,
							users: mine.map(w => users.get(Number(w.userId))).filter((u): u is PublicUserInfo => !!u),
						};
					});
					return { list };
				},
			},

			participations: {
				auth: "optional",
				params: { lotteryId: id, pageIndex: optInt(0, 1_000_000), pageSize: optInt(0, 10_000) },
				async handler(this: LotteryThis, ctx: Ctx<{ lotteryId: number; pageIndex?: number; pageSize?: number }>): Promise<{ count: number; list: PublicUserInfo[] }> {
					await this.visibleAggregate(ctx, ctx.params.lotteryId);
					const pageSize = pageOf(ctx.params.pageSize);
					const page = Math.max(1, ctx.params.pageIndex || 1);
					const { count, rows } = await this.models.Participation.findAndCountAll({
						where: { lotteryId: ctx.params.lotteryId },
						attributes: ["userId"],
						order: [["id", "ASC"]],
						limit: pageSize,
						offset: (page - 1) * pageSize,
					});
					const users = await this.publicUsers(ctx, rows.map(r => Number(r.userId)));
					return { count, list: rows.map(r => users.get(Number(r.userId))).filter((u): u is PublicUserInfo => !!u) };
				},
			},

			participation: {
				auth: "required",
				params: { lotteryId: id },
				async handler(this: LotteryThis, ctx: Ctx<{ lotteryId: number }>): Promise<Record<string, never>> {
					const userId = callerId(ctx);
					const { lotteryId } = ctx.params;
					let reached = false;
					let count = 0;
					const announceType = await this.announceTypeOf(ctx, lotteryId);
					if (announceType === AnnounceType.INSTANT) throw new AppError("LOTTERY_IS_INSTANT");
					const db = this.adapter.db;
					try {
						// The lottery's state is read in the transaction and on the locked row, never from a cache: no draw
						// or cancel can slip between the check and the insert. Type 1 joins of all callers go in group
						// commits (one transaction for whatever queued up meanwhile); type 2 counts on the row, one by one.
						if (announceType === AnnounceType.AT_TIME) await this.joins.submit({ lotteryId, userId });
						else await db.transaction(async t => {
							// Type 2 counts exactly, on the row: the joinNumber-th participant is the last one in.
							const [open] = await this.models.Lottery.update(
								{ participantCount: db.literal("participant_count + 1") as unknown as number },
								{
									where: { id: lotteryId, state: LotteryState.OPEN, announceType: AnnounceType.AT_JOIN_NUMBER, announceTime: { [Op.gt]: now() }, participantCount: { [Op.lt]: col("join_number") } },
									transaction: t,
								},
							);
							if (!open) return this.refuseParticipation(lotteryId, t);
							await this.models.Participation.create({ lotteryId, userId }, { transaction: t });
							const row = await this.models.Lottery.findByPk(lotteryId, { attributes: ["participantCount", "joinNumber"], transaction: t });
							count = row!.participantCount;
							await recordEvent(db, t, "participation.created", { type: "lottery", id: lotteryId }, { lotteryId, userId, participantCount: count });
							reached = count >= row!.joinNumber;
						});
					} catch (err) {
						if (err instanceof UniqueConstraintError) throw new AppError("ALREADY_PARTICIPATED");
						throw err;
					}
					// A type 1 batch dropped its users' counters itself, once for the lot, before it answered.
					if (announceType !== AnnounceType.AT_TIME) await this.cleanCache("lottery", [`lottery.userCounts:${userId}`]);
					countMetric(this.broker, "participations", { kind: "scheduled" });
					ctx.emit("lottery.participated", { lotteryId, userId, participantCount: count });
					// The draw service draws a type-2 lottery as soon as its joinNumber-th participant is in.
					if (reached) ctx.emit("lottery.joinTargetReached", { lotteryId, participantCount: count });
					return {};
				},
			},

			// --- for other services -----------------------------------------------------------------------

			/** A lottery and its prizes, cached per id and cleaned on every change. */
			get: {
				visibility: "public",
				cache: { keys: [...CACHE_KEYS["lottery.get"]], ttl: 300 },
				params: { id },
				async handler(this: LotteryThis, ctx: Ctx<{ id: number }>): Promise<LotteryAggregate> {
					const row = await this.models.Lottery.findByPk(ctx.params.id);
					if (!row) throw notFound("lottery");
					const prizes = await this.models.Prize.findAll({ where: { lotteryId: ctx.params.id }, order: [["level", "ASC"]] });
					return { lottery: plainLottery(row), prizes: prizes.map(p => toPrizeView(p.get({ plain: true }) as PrizeRecord)) };
				},
			},

			/** The counters of users.detail, cached per user and dropped when the user joins, creates or wins. */
			userCounts: {
				visibility: "public",
				cache: { keys: [...CACHE_KEYS["lottery.userCounts"]], ttl: 300 },
				params: { userId: id },
				async handler(this: LotteryThis, ctx: Ctx<{ userId: number }>): Promise<UserCounts> {
					const { userId } = ctx.params;
					const [participation_count, created_count, won_count] = await Promise.all([
						this.models.Participation.count({ where: { userId } }),
						this.models.Lottery.count({ where: { userId, state: { [Op.ne]: LotteryState.DRAFT } } }),
						this.models.Participation.count({ where: { userId, isWon: 1 } }),
					]);
					return { participation_count, created_count, won_count };
				},
			},

			/** The prize a user won in a lottery, or null. */
			winnerOf: {
				visibility: "public",
				params: { lotteryId: id, userId: id },
				async handler(this: LotteryThis, ctx: Ctx<{ lotteryId: number; userId: number }>): Promise<{ participationId: number; prizeId: number } | null> {
					const p = await this.models.Participation.findOne({ where: { lotteryId: ctx.params.lotteryId, userId: ctx.params.userId, isWon: 1 } });
					return p ? { participationId: Number(p.id), prizeId: Number(p.prizeId) } : null;
				},
			},

			/** Every winner of a lottery, in the order they were drawn. */
			winners: {
				visibility: "public",
				params: { lotteryId: id },
				async handler(this: LotteryThis, ctx: Ctx<{ lotteryId: number }>): Promise<Array<{ participationId: number; userId: number; prizeId: number }>> {
					const rows = await this.models.Participation.findAll({ where: { lotteryId: ctx.params.lotteryId, isWon: 1 }, order: [["id", "ASC"]] });
					return rows.map(r => ({ participationId: Number(r.id), userId: Number(r.userId), prizeId: Number(r.prizeId) }));
				},
			},
		},

		methods: {
			async aggregate(this: LotteryThis, ctx: Ctx<unknown>, lotteryId: number): Promise<LotteryAggregate> {
				return readThrough<LotteryAggregate>(ctx, "lottery.get", { id: lotteryId });
			},

			/**
			 * How a lottery is drawn, which says how a join is written. It never changes once the lottery is
			 * published, so the node remembers it from then on and asks no cache; a draft is looked up each time.
			 */
			async announceTypeOf(this: LotteryThis, ctx: Ctx<unknown>, lotteryId: number): Promise<number> {
				const known = this.announceTypes.get(String(lotteryId));
				if (known !== undefined) return known;
				const { lottery } = await this.visibleAggregate(ctx, lotteryId);
				if (lottery.state !== LotteryState.DRAFT) this.announceTypes.set(String(lotteryId), lottery.announceType);
				return lottery.announceType;
			},

			/** Drafts exist only for their creator: to everyone else they are not found. */
			async visibleAggregate(this: LotteryThis, ctx: Ctx<unknown>, lotteryId: number): Promise<LotteryAggregate> {
				const agg = await this.aggregate(ctx, lotteryId);
				if (agg.lottery.state === LotteryState.DRAFT && agg.lottery.userId !== ctx.meta.user?.id) throw notFound("lottery");
				return agg;
			},

			async ownDraft(this: LotteryThis, lotteryId: number, userId: number, t: Transaction): Promise<LotteryRow> {
				const row = await this.models.Lottery.findByPk(lotteryId, { transaction: t, lock: t.LOCK.UPDATE });
				if (!row || (row.state === LotteryState.DRAFT && Number(row.userId) !== userId)) throw notFound("lottery");
				if (Number(row.userId) !== userId) throw forbidden("only the creator may change a lottery");
				if (row.state !== LotteryState.DRAFT) throw new AppError("LOTTERY_NOT_DRAFT");
				return row;
			},

			async checkSponsor(this: LotteryThis, ctx: Ctx<unknown>, sponsorId: number): Promise<void> {
				if (!sponsorId) return;
				const sponsor = await ctx.call<SponsorView | null, { id: number }>("users.getSponsor", { id: sponsorId });
				if (!sponsor || sponsor.userId !== callerId(ctx)) throw invalidParam("sponsorId", "must be 0 or the id of one of your own sponsors");
			},

			async writePrizes(this: LotteryThis, lotteryId: number, draft: LotteryDraft, t: Transaction): Promise<void> {
				await this.models.Prize.bulkCreate(
					draft.prizes.map(p => ({ lotteryId, type: p.type, name: p.name, level: p.level, thumb: p.thumb, count: p.count, grantType: p.grantType, probability: p.probability, stock: p.count })) as PrizeRow[],
					{ transaction: t },
				);
			},

			/** Drops the lottery's cached record, and the cached lists when the set of open lotteries may have changed. */
			async lotteryChanged(this: LotteryThis, lotteryId: number, lists = true): Promise<void> {
				await this.cleanCache("lottery", lotteryCacheKeys(lotteryId), lists ? ["lottery.lotteryList*"] : []);
			},

			async refuseParticipation(this: LotteryThis, lotteryId: number, t: Transaction): Promise<never> {
				const row = await this.models.Lottery.findByPk(lotteryId, { transaction: t });
				throw refusal(row ?? undefined);
			},

			/**
			 * Type 1 joins, many in one transaction, in as few exchanges with the database as can be
			 * (lib/packed-sql.ts). The lotteries' rows are read under a shared lock, so no draw or cancel slips in
			 * and joins run side by side; every accepted row and its outbox event go in with one statement each.
			 * - First in one exchange: the inserts themselves check that the lottery takes joins, in SQL, against
			 *   the locked rows; the rows read tell each caller what the inserts decided.
			 * - If a unique key refuses that (someone in the batch had joined before), the batch goes again in two
			 *   steps, which first reads who joined before and leaves them out.
			 * - Whatever else fails (a race on the unique key, a deadlock) makes each item go again alone, so
			 *   batching never refuses a join that would have succeeded by itself.
			 */
			async writeAtTimeJoins(this: LotteryThis, items: Join[]): Promise<Array<Outcome<void>>> {
				const packed = packedTransactions(this.adapter.db);
				let decided: JoinDecision;
				try {
					decided = await this.joinInOneExchange(packed, items);
				} catch (first) {
					// Alone, a join that met an existing row has joined before; anything else is its own failure.
					if (items.length === 1) return [{ ok: false, error: isDuplicateKey(first) ? new AppError("ALREADY_PARTICIPATED") : first }];
					try {
						if (!isDuplicateKey(first)) throw first;
						decided = await this.joinInTwoSteps(packed, items);
					} catch (err) {
						this.logger.debug(`a batch of ${items.length} joins fell back to one transaction each: ${(err as Error).message}`);
						return Promise.all(items.map(async item => (await this.writeAtTimeJoins([item]))[0]));
					}
				}
				// Committed: the joiners' counters are stale from now on, and each joiner reads fresh ones after its answer.
				// A join is in even when the cache cannot be reached; its counter then lags until the entry expires.
				if (decided.joined.length) {
					await this.cleanCache("lottery", [...new Set(decided.joined.map(j => `lottery.userCounts:${j.userId}`))])
						.catch((err: Error) => this.logger.warn(`joins committed, but their users' cached counters could not be dropped: ${err.message}`));
				}
				return decided.outcomes;
			},

			/** The batch in one exchange: a locking read of the lotteries, and inserts that check them in SQL. */
			async joinInOneExchange(this: LotteryThis, packed: PackedTransactions, items: Join[]): Promise<JoinDecision> {
				const at = now();
				// A user twice in one batch joins once; the inserts then cannot refuse one another.
				const unique = [...new Map(items.map(i => [`${i.lotteryId}:${i.userId}`, i])).values()];
				const [rows] = await packed.once<JoinableRow>([lockLotteries(this.adapter.db, unique), ...joinInserts(unique, at)]);
				return decideJoins(items, rows, [], at);
			},

			/** The batch in two steps: read the lotteries (locked) and who joined before, then insert the rest. */
			async joinInTwoSteps(this: LotteryThis, packed: PackedTransactions, items: Join[]): Promise<JoinDecision> {
				const at = now();
				return packed.twoStep([
					lockLotteries(this.adapter.db, items),
					["SELECT lottery_id AS lotteryId, user_id AS userId FROM lottery_participation WHERE lottery_id IN (?) AND user_id IN (?)", [[...new Set(items.map(i => i.lotteryId))], [...new Set(items.map(i => i.userId))]]],
				], ([rows, existing]) => {
					const decided = decideJoins(items, rows as unknown as JoinableRow[], existing as unknown as Join[], at);
					return { writes: decided.joined.length ? joinInserts(decided.joined, at) : [], result: decided };
				});
			},

			async userLotteryItems(this: LotteryThis, rows: Parameters<LotteryThis["userLotteryItems"]>[0]): Promise<UserLotteryItem[]> {
				const prizeIds = [...new Set(rows.filter(r => r.isWon && r.prizeId).map(r => Number(r.prizeId)))];
				const prizes = prizeIds.length ? await this.models.Prize.findAll({ where: { id: prizeIds } }) : [];
				const byId = new Map(prizes.map(p => [Number(p.id), toLotteryPrizeView(p.get({ plain: true }) as PrizeRecord)]));
				return rows.map(r => ({
					id: Number(r.id),
					lottery_id: Number(r.lotteryId),
					user_id: Number(r.userId),
					is_won: r.isWon,
					create_time: Math.floor(new Date(r.createTime).getTime() / 1000),
					prize: r.isWon ? byId.get(Number(r.prizeId)) ?? null : null,
				}));
			},

			async publicUsers(this: LotteryThis, ctx: Ctx<unknown>, ids: number[]): Promise<Map<number, PublicUserInfo>> {
				const unique = [...new Set(ids)];
				const batches: number[][] = [];
				for (let i = 0; i < unique.length; i += 1000) batches.push(unique.slice(i, i + 1000));
				const found = await Promise.all(batches.map(batch => ctx.call<UserInfo[], { ids: number[] }>("users.getMany", { ids: batch })));
				return new Map(found.flat().map(u => [u.id, toPublicUserInfo(u)]));
			},
		},
	};
}
