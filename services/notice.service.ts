import type { Consumer } from "kafkajs";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Op, QueryTypes } from "sequelize";
import { AppError } from "../domain/errors";
import { checkWxSignature } from "../domain/wechat";
import type { Config } from "../lib/config";
import { createKafka, ensureTopic } from "../lib/kafka";
import { sendWebhook, WeChatSubscribe, type DeliveryResult } from "../lib/notice-channels";
import { callerId, type Ctx } from "../lib/meta";
import type { DomainEvent } from "../lib/outbox";
import { DbMixin, type DbServiceThis } from "../mixins/db.mixin";
import type { LotteryAggregate } from "./lottery.service";
import { optInt } from "../lib/params";

const nowSec = () => Math.floor(Date.now() / 1000);

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
	wechat: WeChatSubscribe | null;
	deliveryTimer: NodeJS.Timeout | null;
	delivering: Promise<void> | null;
	enqueueWeChat(rows: NoticeRow[]): Promise<void>;
	enqueue(rows: Array<{ eventId: string; userId: number; channel: string; payload: string }>): Promise<void>;
	deliverDue(): Promise<void>;
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
				if (config.noticeWebhookUrl) await this.enqueue([{ eventId: event.eventId, userId: 0, channel: "webhook", payload: JSON.stringify(event) }]);
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
				await this.enqueueWeChat(rows);
				const t = nowSec();
				await this.adapter.db.query(
					`${this.adapter.db.getDialect() === "mysql" ? "INSERT IGNORE" : "INSERT OR IGNORE"} INTO notice (user_id, event_id, type, lottery_id, title, content, create_time) VALUES ${rows.map(() => "(?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
					{ replacements: rows.flatMap(r => [r.userId, r.eventId, r.type, r.lotteryId, r.title.slice(0, 100), r.content.slice(0, 500), t]) },
				);
			},

			/** A WeChat subscription message for each notified user who signed in with WeChat. */
			async enqueueWeChat(this: NoticeThis, rows: NoticeRow[]): Promise<void> {
				if (!this.wechat) return;
				const openids = await this.broker.call<Array<{ userId: number; openid: string }>, object>("users.wxOpenIds", { ids: [...new Set(rows.map(r => r.userId))].slice(0, 1000) });
				const byUser = new Map(openids.map(o => [o.userId, o.openid]));
				await this.enqueue(rows.filter(r => byUser.has(r.userId)).map(r => ({
					eventId: r.eventId,
					userId: r.userId,
					channel: "wechat",
					payload: JSON.stringify({ openid: byUser.get(r.userId), page: `pages/lottery/detail?id=${r.lotteryId}`, data: { thing1: r.title.slice(0, 20), thing2: r.content.slice(0, 20) } }),
				})));
			},

			/** Queues deliveries; the same event, user and channel only once. */
			async enqueue(this: NoticeThis, rows: Array<{ eventId: string; userId: number; channel: string; payload: string }>): Promise<void> {
				if (!rows.length) return;
				const now = Date.now();
				await this.adapter.db.query(
					`${this.adapter.db.getDialect() === "mysql" ? "INSERT IGNORE" : "INSERT OR IGNORE"} INTO notice_delivery (event_id, user_id, channel, payload, next_attempt_at, create_time) VALUES ${rows.map(() => "(?, ?, ?, ?, ?, ?)").join(", ")}`,
					{ replacements: rows.flatMap(r => [r.eventId, r.userId, r.channel, r.payload, now, now]) },
				);
			},

			/**
			 * Sends what is due. A delivery is claimed by pushing its next attempt a minute ahead (so two nodes never
			 * send it at once), then marked delivered, given up (a permanent refusal, or ten failures), or
			 * rescheduled with exponential back-off.
			 */
			async deliverDue(this: NoticeThis): Promise<void> {
				const db = this.adapter.db;
				const due = await db.query<{ id: number; event_id: string; channel: string; payload: string; attempts: number }>(
					"SELECT id, event_id, channel, payload, attempts FROM notice_delivery WHERE state = 0 AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 50",
					{ replacements: [Date.now()], type: QueryTypes.SELECT },
				);
				await Promise.all(due.map(async d => {
					const [, claimed] = await db.query("UPDATE notice_delivery SET next_attempt_at = ? WHERE id = ? AND state = 0 AND next_attempt_at <= ?", { replacements: [Date.now() + 60_000, d.id, Date.now()], type: QueryTypes.UPDATE });
					if (!claimed) return;
					let result: DeliveryResult;
					if (d.channel === "webhook" && config.noticeWebhookUrl) {
						const event = JSON.parse(d.payload) as DomainEvent;
						result = await sendWebhook(config.noticeWebhookUrl, config.noticeWebhookSecret, d.payload, event.eventId, event.type);
					} else if (d.channel === "wechat" && this.wechat) {
						const m = JSON.parse(d.payload) as { openid: string; page: string; data: Record<string, string> };
						result = await this.wechat.send(m.openid, m.page, m.data);
					} else {
						result = { ok: false, permanent: true, error: `channel ${d.channel} is not configured` };
					}
					const attempts = Number(d.attempts) + 1;
					if (result.ok) {
						await db.query("UPDATE notice_delivery SET state = 1, attempts = ?, last_error = NULL WHERE id = ?", { replacements: [attempts, d.id] });
					} else if (result.permanent || attempts >= 10) {
						await db.query("UPDATE notice_delivery SET state = 2, attempts = ?, last_error = ? WHERE id = ?", { replacements: [attempts, result.error.slice(0, 255), d.id] });
					} else {
						const delay = Math.min(600_000, config.noticeRetryBaseMs * 2 ** (attempts - 1));
						await db.query("UPDATE notice_delivery SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?", { replacements: [attempts, Date.now() + delay, result.error.slice(0, 255), d.id] });
					}
				}));
			},

			async lotteryOf(this: NoticeThis, lotteryId: number): Promise<LotteryAggregate | null> {
				return this.broker.call<LotteryAggregate, { id: number }>("lottery.get", { id: lotteryId }).catch(() => null);
			},
		},

		created(this: NoticeThis) {
			this.wechat = config.wxAppId && config.wxSecret && config.wxNoticeTemplateId ? new WeChatSubscribe(config.wxApiBase, config.wxAppId, config.wxSecret, config.wxNoticeTemplateId) : null;
			this.deliveryTimer = null;
			this.delivering = null;
			this.consumer = null;
			this.retryTimer = null;
			this.stopping = false;
		},

		async started(this: NoticeThis) {
			this.deliveryTimer = setInterval(() => {
				if (this.delivering) return;
				this.delivering = this.deliverDue().catch(err => this.logger.warn({ err }, "notice deliveries failed")).finally(() => (this.delivering = null));
			}, Math.max(50, Math.min(500, config.noticeRetryBaseMs)));
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
			if (this.deliveryTimer) clearInterval(this.deliveryTimer);
			await this.delivering;
			await this.consumer?.disconnect().catch(() => undefined);
		},
	};
}
