import type { Consumer } from "kafkajs";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Op, QueryTypes } from "sequelize";
import { AppError } from "../domain/errors";
import { checkWxSignature } from "../domain/wechat";
import type { Config } from "../lib/config";
import { createKafka, ensureTopic } from "../lib/kafka";
import { callerId, type Ctx } from "../lib/meta";
import type { DomainEvent } from "../lib/outbox";
import { DbMixin, type DbServiceThis } from "../mixins/db.mixin";
import type { LotteryAggregate } from "./lottery.service";

const nowSec = () => Math.floor(Date.now() / 1000);
const optInt = (min: number, max: number) => ({ type: "number", integer: true, min, max, convert: true, optional: true }) as const;

interface NoticeRow {
	userId: number;
	eventId: string;
	type: string;
	lotteryId: number;
	title: string;
	content: string;
}

interface NoticeThis extends Service, DbServiceThis {
	consumer: Consumer | null;
	retryTimer: NodeJS.Timeout | null;
	stopping: boolean;
	handle(event: DomainEvent): Promise<void>;
	insertNotices(rows: NoticeRow[]): Promise<void>;
	lotteryOf(lotteryId: number): Promise<LotteryAggregate | null>;
}

/**
 * Tells people what happened: consumes `lottery.drawn` and `prize.won` from Kafka (or from Moleculer in the
 * embedded default) and writes each participant an in-app notice. Delivery is at least once; the unique
 * (event_id, user_id) index makes a redelivered event add nothing.
 */
export function createNoticeService(config: Config): ServiceSchema<ServiceSettingSchema, NoticeThis> {
	return {
		name: "notice",
		mixins: [DbMixin(config, "Lottery")],

		actions: {
			/** The caller's notices, newest first, and how many are unread. */
			list: {
				auth: "required",
				params: { lastId: optInt(0, Number.MAX_SAFE_INTEGER), pageSize: optInt(0, 10_000) },
				async handler(this: NoticeThis, ctx: Ctx<{ lastId?: number; pageSize?: number }>) {
					const userId = callerId(ctx);
					const rows = await this.adapter.db.query<Record<string, unknown>>(
						`SELECT id, type, lottery_id AS lotteryId, title, content, is_read AS isRead, create_time AS createTime FROM notice
						WHERE user_id = ? ${ctx.params.lastId ? "AND id < ?" : ""} ORDER BY id DESC LIMIT ?`,
						{ replacements: [userId, ...(ctx.params.lastId ? [ctx.params.lastId] : []), Math.min(100, ctx.params.pageSize || 20)], type: QueryTypes.SELECT },
					);
					const [unread] = await this.adapter.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM notice WHERE user_id = ? AND is_read = 0", { replacements: [userId], type: QueryTypes.SELECT });
					return {
						list: rows.map(r => ({ id: Number(r.id), type: r.type, lotteryId: Number(r.lotteryId), title: r.title, content: r.content, isRead: Number(r.isRead), createTime: Number(r.createTime) })),
						unread: Number(unread.n),
					};
				},
			},

			/** Marks the given notices (or all of the caller's) read. */
			read: {
				auth: "required",
				params: { ids: { type: "array", items: { type: "number", integer: true, positive: true, convert: true }, max: 500, optional: true }, all: { type: "boolean", optional: true, convert: true } },
				async handler(this: NoticeThis, ctx: Ctx<{ ids?: number[]; all?: boolean }>) {
					const userId = callerId(ctx);
					if (!ctx.params.all && !ctx.params.ids?.length) throw new AppError("INVALID_PARAM", "invalid parameter 'ids': give the notices to mark read, or all: true", { field: "ids" });
					const where = ctx.params.all ? "" : `AND id IN (${ctx.params.ids!.map(() => "?").join(",")})`;
					await this.adapter.db.query(`UPDATE notice SET is_read = 1 WHERE user_id = ? AND is_read = 0 ${where}`, { replacements: [userId, ...(ctx.params.all ? [] : ctx.params.ids!)] });
					return {};
				},
			},

			/** WeChat's server verification (GET /notice/v1/event): true when the signature is WeChat's. */
			verifyEvent: {
				visibility: "public",
				params: { signature: "string", timestamp: "string", nonce: "string" },
				handler(ctx: Context<{ signature: string; timestamp: string; nonce: string }>): boolean {
					return checkWxSignature(config.wxMsgToken, ctx.params.timestamp, ctx.params.nonce, ctx.params.signature);
				},
			},
		},

		events: {
			// The embedded default has no Kafka: the outbox relay hands events over as Moleculer events.
			"domain.lottery.drawn"(this: NoticeThis, ctx: Context<DomainEvent>) {
				if (!config.kafkaBrokers) return this.handle(ctx.params);
			},
			"domain.prize.won"(this: NoticeThis, ctx: Context<DomainEvent>) {
				if (!config.kafkaBrokers) return this.handle(ctx.params);
			},
		},

		methods: {
			async handle(this: NoticeThis, event: DomainEvent): Promise<void> {
				if (event.type === "prize.won") {
					const { lotteryId, userId, prizeId } = event.data as { lotteryId: number; userId: number; prizeId: number };
					const agg = await this.lotteryOf(lotteryId);
					const prize = agg?.prizes.find(p => p.id === prizeId);
					await this.insertNotices([{
						userId, eventId: event.eventId, type: "prize.won", lotteryId,
						title: "You won a prize",
						content: `You won ${prize?.name ?? "a prize"} in "${agg?.lottery.name ?? `lottery ${lotteryId}`}". Claim it before the award deadline.`,
					}]);
				} else if (event.type === "lottery.drawn") {
					const { lotteryId } = event.data as { lotteryId: number };
					const agg = await this.lotteryOf(lotteryId);
					const name = agg?.lottery.name ?? `lottery ${lotteryId}`;
					if (agg) {
						await this.insertNotices([{ userId: agg.lottery.userId, eventId: event.eventId, type: "lottery.drawn", lotteryId, title: "Your lottery was drawn", content: `"${name}" has been drawn.` }]);
					}
					// Everyone who did not win hears it too (winners get their prize.won notice), page by page.
					for (let after = 0; ;) {
						const rows = await this.models.Participation.findAll({ where: { lotteryId, isWon: 0, userId: { [Op.gt]: after } }, attributes: ["userId"], order: [["userId", "ASC"]], limit: 1000 });
						if (!rows.length) break;
						await this.insertNotices(rows.map(r => ({ userId: Number(r.userId), eventId: event.eventId, type: "lottery.drawn", lotteryId, title: "Lottery drawn", content: `"${name}" has been drawn. Not this time — good luck next time!` })));
						after = Number(rows[rows.length - 1].userId);
					}
				}
			},

			async insertNotices(this: NoticeThis, rows: NoticeRow[]): Promise<void> {
				if (!rows.length) return;
				const t = nowSec();
				await this.adapter.db.query(
					`${this.adapter.db.getDialect() === "mysql" ? "INSERT IGNORE" : "INSERT OR IGNORE"} INTO notice (user_id, event_id, type, lottery_id, title, content, create_time) VALUES ${rows.map(() => "(?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
					{ replacements: rows.flatMap(r => [r.userId, r.eventId, r.type, r.lotteryId, r.title.slice(0, 100), r.content.slice(0, 500), t]) },
				);
			},

			async lotteryOf(this: NoticeThis, lotteryId: number): Promise<LotteryAggregate | null> {
				return this.broker.call<LotteryAggregate, { id: number }>("lottery.get", { id: lotteryId }).catch(() => null);
			},
		},

		created(this: NoticeThis) {
			this.consumer = null;
			this.retryTimer = null;
			this.stopping = false;
		},

		async started(this: NoticeThis) {
			if (!config.kafkaBrokers) return;
			const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: `${config.namespace || "lottery"}-notice`, topic: config.kafkaTopic });
			// Kafka may be down when the node starts: keep trying in the background instead of failing the node.
			const connect = async (): Promise<void> => {
				if (this.stopping) return;
				const consumer = kafka.consumer({ groupId: `${config.namespace || "lottery"}-notice`, sessionTimeout: 10_000, heartbeatInterval: 1000, retry: { retries: 30, maxRetryTime: 5000 } });
				try {
					await ensureTopic(kafka, config.kafkaTopic);
					await consumer.connect();
					await consumer.subscribe({ topic: config.kafkaTopic, fromBeginning: true });
					await consumer.run({
						eachMessage: async ({ message }) => {
							if (!message.value) return;
							const event = JSON.parse(message.value.toString()) as DomainEvent;
							if (event.type === "prize.won" || event.type === "lottery.drawn") await this.handle(event);
						},
					});
					this.consumer = consumer;
				} catch (err) {
					this.logger.warn({ err: (err as Error).message }, "notice consumer could not start; retrying in 2 s");
					await consumer.disconnect().catch(() => undefined);
					this.retryTimer = setTimeout(() => void connect(), 2000);
				}
			};
			void connect();
		},

		async stopped(this: NoticeThis) {
			this.stopping = true;
			if (this.retryTimer) clearTimeout(this.retryTimer);
			await this.consumer?.disconnect().catch(() => undefined);
		},
	};
}
