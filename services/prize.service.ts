import type { Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { UniqueConstraintError } from "sequelize";
import { AppError, forbidden, notFound } from "../domain/errors";
import { LotteryState, maskMobile, toLotteryPrizeView, type LotteryPrizeView } from "../domain/lottery";
import { ClaimState, claimStatus, validateClaim, type ClaimInput, type ClaimStatus } from "../domain/prize";
import type { UserInfo } from "../domain/user";
import type { Config } from "../lib/config";
import { callerId, type Ctx } from "../lib/meta";
import { recordEvent } from "../lib/outbox";
import { DbMixin, type DbServiceThis } from "../mixins/db.mixin";
import type { LotteryAggregate } from "./lottery.service";
import { id, optInt } from "../lib/params";

const now = (): number => Math.floor(Date.now() / 1000);

/** One winner of a lottery as its creator sees it in the claims list. */
interface ClaimItem {
	claimId: number;
	userId: number;
	nickname: string;
	mobile: string;
	prize: LotteryPrizeView | null;
	status: ClaimStatus;
	contactName: string;
	contactPhone: string;
	address: string;
	remark: string;
	claimTime: number;
	deliveredTime: number;
	deliveryNote: string;
}

interface PrizeThis extends Service, DbServiceThis {
	createdLottery(ctx: Ctx<unknown>, lotteryId: number): Promise<LotteryAggregate>;
}

/** Prize fulfilment: winners claim before the award deadline, creators see the claims and mark them delivered. */
export function createPrizeService(config: Config): ServiceSchema<ServiceSettingSchema, PrizeThis> {
	return {
		name: "prize",
		mixins: [DbMixin(config, "Claim")],

		actions: {
			claimPrize: {
				auth: "required",
				params: {
					lotteryId: id,
					contactName: { type: "string", max: 50, optional: true },
					contactPhone: { type: "string", max: 20, optional: true },
					address: { type: "string", max: 255, optional: true },
					remark: { type: "string", max: 500, optional: true },
				},
				async handler(this: PrizeThis, ctx: Ctx<ClaimInput & { lotteryId: number }>): Promise<{ id: number }> {
					const userId = callerId(ctx);
					const { lottery, prizes } = await ctx.call<LotteryAggregate, { id: number }>("lottery.get", { id: ctx.params.lotteryId });
					if (lottery.state === LotteryState.DRAFT && lottery.userId !== userId) throw notFound("lottery");
					const won = await ctx.call<{ participationId: number; prizeId: number } | null, object>("lottery.winnerOf", { lotteryId: lottery.id, userId });
					if (!won) throw new AppError("PRIZE_NOT_WON");
					if (now() > lottery.awardDeadline) throw new AppError("PRIZE_FORFEITED");
					const prize = prizes.find(p => p.id === won.prizeId);
					if (!prize) throw notFound("prize");
					const details = validateClaim(prize.grantType, ctx.params);
					try {
						const claim = await this.adapter.db.transaction(async t => {
							const created = await this.models.Claim.create({
								lotteryId: lottery.id,
								prizeId: prize.id,
								userId,
								grantType: prize.grantType,
								...details,
								state: ClaimState.CLAIMED,
							}, { transaction: t });
							await recordEvent(this.adapter.db, t, "prize.claimed", { type: "lottery", id: lottery.id }, { lotteryId: lottery.id, prizeId: prize.id, userId, claimId: Number(created.id), grantType: prize.grantType });
							return created;
						});
						ctx.emit("prize.claimed", { lotteryId: lottery.id, prizeId: prize.id, userId, claimId: Number(claim.id) });
						return { id: Number(claim.id) };
					} catch (err) {
						if (err instanceof UniqueConstraintError) throw new AppError("PRIZE_ALREADY_CLAIMED");
						throw err;
					}
				},
			},

			claimList: {
				auth: "required",
				params: { lotteryId: id, pageIndex: optInt(0, 1_000_000), pageSize: optInt(0, 10_000) },
				async handler(this: PrizeThis, ctx: Ctx<{ lotteryId: number; pageIndex?: number; pageSize?: number }>): Promise<{ count: number; list: ClaimItem[] }> {
					const { lottery, prizes } = await this.createdLottery(ctx, ctx.params.lotteryId);
					const pageSize = Math.min(100, ctx.params.pageSize || 20);
					const page = Math.max(1, ctx.params.pageIndex || 1);
					const winners = await ctx.call<Array<{ participationId: number; userId: number; prizeId: number }>, object>("lottery.winners", { lotteryId: lottery.id });
					const slice = winners.slice((page - 1) * pageSize, page * pageSize);
					const userIds = slice.map(w => w.userId);
					const [claims, users] = await Promise.all([
						userIds.length ? this.models.Claim.findAll({ where: { lotteryId: lottery.id, userId: userIds } }) : Promise.resolve([]),
						userIds.length ? ctx.call<UserInfo[], { ids: number[] }>("users.getMany", { ids: userIds }) : Promise.resolve([]),
					]);
					const claimOf = new Map(claims.map(c => [Number(c.userId), c.get({ plain: true })]));
					const userOf = new Map(users.map(u => [u.id, u]));
					const prizeOf = new Map(prizes.map(p => [p.id, toLotteryPrizeView(p)]));
					const t = now();
					return {
						count: winners.length,
						list: slice.map(w => {
							const c = claimOf.get(w.userId);
							const u = userOf.get(w.userId);
							return {
								claimId: c ? Number(c.id) : 0,
								userId: w.userId,
								nickname: u?.nickname ?? "",
								mobile: maskMobile(u?.mobile ?? ""),
								prize: prizeOf.get(w.prizeId) ?? null,
								status: claimStatus(c?.state ?? null, lottery.awardDeadline, t),
								contactName: c?.contactName ?? "",
								contactPhone: c?.contactPhone ?? "",
								address: c?.address ?? "",
								remark: c?.remark ?? "",
								claimTime: c ? Math.floor(new Date(c.createTime).getTime() / 1000) : 0,
								deliveredTime: Number(c?.deliveredTime ?? 0),
								deliveryNote: c?.deliveryNote ?? "",
							};
						}),
					};
				},
			},

			deliverPrize: {
				auth: "required",
				params: { claimId: id, note: { type: "string", max: 255, optional: true } },
				async handler(this: PrizeThis, ctx: Ctx<{ claimId: number; note?: string }>): Promise<Record<string, never>> {
					const claim = await this.models.Claim.findByPk(ctx.params.claimId);
					if (!claim) throw notFound("claim");
					await this.createdLottery(ctx, Number(claim.lotteryId));
					// Conditional: of two concurrent deliveries exactly one succeeds.
					const changed = await this.adapter.db.transaction(async t => {
						const [n] = await this.models.Claim.update(
							{ state: ClaimState.DELIVERED, deliveredTime: now(), deliveryNote: ctx.params.note ?? "" },
							{ where: { id: claim.id, state: ClaimState.CLAIMED }, transaction: t },
						);
						if (n) await recordEvent(this.adapter.db, t, "prize.delivered", { type: "lottery", id: Number(claim.lotteryId) }, { lotteryId: Number(claim.lotteryId), claimId: Number(claim.id), userId: Number(claim.userId) });
						return n;
					});
					if (!changed) throw new AppError("CLAIM_ALREADY_DELIVERED");
					ctx.emit("prize.delivered", { lotteryId: Number(claim.lotteryId), claimId: Number(claim.id), userId: Number(claim.userId) });
					return {};
				},
			},
		},

		methods: {
			/** The lottery, when the caller created it. */
			async createdLottery(this: PrizeThis, ctx: Ctx<unknown>, lotteryId: number): Promise<LotteryAggregate> {
				const agg = await ctx.call<LotteryAggregate, { id: number }>("lottery.get", { id: lotteryId });
				const userId = callerId(ctx);
				if (agg.lottery.userId !== userId) {
					if (agg.lottery.state === LotteryState.DRAFT) throw notFound("lottery");
					throw forbidden("only the lottery's creator sees and delivers its claims");
				}
				return agg;
			},
		},
	};
}
