import crypto from "node:crypto";
import Redis from "ioredis";
import type { Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { UniqueConstraintError, type Transaction } from "sequelize";
import { AppError, forbidden, invalidParam, notFound } from "../domain/errors";
import { hashPassword, verifyPassword } from "../domain/password";
import { issueToken, MAX_TOKEN_LENGTH, verifyToken, type TokenPair } from "../domain/token";
import { defaultNickname, MOBILE_PATTERN, NO_COUNTS, toSponsorView, toUserInfo, type SponsorView, type UserCounts, type UserInfo, type UserRecord } from "../domain/user";
import { code2Session, decryptWxData, type WxProfile } from "../domain/wechat";
import { Batcher } from "../lib/batcher";
import { CACHE_KEYS, readThrough, SPONSOR_VIEWS } from "../lib/cache-keys";
import type { Config } from "../lib/config";
import { callerId, type Ctx, type TokenResolution } from "../lib/meta";
import { recordEvent } from "../lib/outbox";
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from "../lib/rate-limiter";
import { CacheCleanerMixin } from "../mixins/cache-cleaner.mixin";
import { DbMixin, type DbServiceThis } from "../mixins/db.mixin";
import type { UserRow } from "../models";
import { id, optInt, optStr } from "../lib/params";

const WX_AUTH_TYPE = "wxMini";
const PAGE_SIZE_MAX = 100;

interface UsersThis extends Service, DbServiceThis {
	config: Config;
	rateLimiter: RateLimiter;
	redis: Redis | null;
	userLoader: Batcher<number, UserInfo>;
	cleanCache(service: string, keys?: string[], patterns?: string[]): Promise<void>;
	tokenFor(userId: number): TokenPair;
	getUserInfo(ctx: Ctx<unknown>, id: number): Promise<UserInfo>;
	cleanUser(id: number): Promise<void>;
	checkLoginRate(mobile: string, ip: string | undefined): Promise<void>;
	findOrCreateWxUser(openid: string, profile: WxProfile | null, nickname: string, avatar: string): Promise<number>;
	ownSponsor(id: number, userId: number): Promise<import("../models").SponsorRow>;
}

const sponsorFields = {
	type: optInt(0, 5),
	appletType: optInt(0, 3),
	isShow: optInt(0, 2),
	name: { type: "string", min: 1, max: 255, trim: true },
	desc: optStr(255),
	avatar: optStr(255),
	qr_code: optStr(255),
	inputA: optStr(255),
	inputB: optStr(255),
} as const;

interface SponsorParams {
	id?: number;
	type?: number;
	appletType?: number;
	isShow?: number;
	name?: string;
	desc?: string;
	avatar?: string;
	qr_code?: string;
	inputA?: string;
	inputB?: string;
}

/** Maps request fields (go-lottery names) to model attributes, keeping only those that were sent. */
function sponsorAttributes(p: SponsorParams): Partial<import("../models").SponsorRow> {
	const out: Record<string, unknown> = {};
	if (p.type !== undefined) out.type = p.type;
	if (p.appletType !== undefined) out.appletType = p.appletType;
	if (p.isShow !== undefined) out.isShow = p.isShow;
	if (p.name !== undefined) out.name = p.name;
	if (p.desc !== undefined) out.desc = p.desc;
	if (p.avatar !== undefined) out.avatar = p.avatar;
	if (p.qr_code !== undefined) out.qrCode = p.qr_code;
	if (p.inputA !== undefined) out.inputA = p.inputA;
	if (p.inputB !== undefined) out.inputB = p.inputB;
	return out;
}

/** usercenter: accounts, tokens, WeChat login and sponsors. */
export function createUsersService(config: Config): ServiceSchema<ServiceSettingSchema, UsersThis> {
	return {
		name: "users",
		mixins: [DbMixin(config, "User"), CacheCleanerMixin(["users"])],

		actions: {
			register: {
				params: {
					mobile: { type: "string", pattern: MOBILE_PATTERN, messages: { stringPattern: "must be 11 digits" } },
					password: { type: "string", min: 1, max: 64 },
				},
				async handler(this: UsersThis, ctx: Ctx<{ mobile: string; password: string }>): Promise<TokenPair> {
					const { mobile, password } = ctx.params;
					if (password.length < this.config.passwordMinLength) {
						throw invalidParam("password", `must be at least ${this.config.passwordMinLength} characters`);
					}
					const hash = await hashPassword(password);
					let user: UserRow;
					try {
						user = await this.adapter.db.transaction(async t => {
							const created = await this.models.User.create({ mobile, password: hash, nickname: defaultNickname(mobile, "") }, { transaction: t });
							await recordEvent(this.adapter.db, t, "user.registered", { type: "user", id: Number(created.id) }, { userId: Number(created.id), via: "mobile" });
							return created;
						});
					} catch (err) {
						if (err instanceof UniqueConstraintError) throw new AppError("USER_MOBILE_TAKEN");
						throw err;
					}
					this.logger.info({ userId: user.id }, "user registered");
					return this.tokenFor(Number(user.id));
				},
			},

			login: {
				params: {
					mobile: { type: "string", pattern: MOBILE_PATTERN, messages: { stringPattern: "must be 11 digits" } },
					password: { type: "string", min: 1, max: 64 },
				},
				async handler(this: UsersThis, ctx: Ctx<{ mobile: string; password: string }>): Promise<TokenPair> {
					const { mobile, password } = ctx.params;
					await this.checkLoginRate(mobile, ctx.meta.clientIp);
					const user = await this.models.User.findOne({ where: { mobile }, attributes: ["id", "password"] });
					const ok = await verifyPassword(user?.password, password);
					if (!user || !ok) throw new AppError("USER_LOGIN_FAILED");
					// A successful login does not count against the number's failure budget.
					await this.rateLimiter.refund(`login:mobile:${mobile}`);
					return this.tokenFor(Number(user.id));
				},
			},

			wxMiniAuth: {
				params: {
					code: { type: "string", min: 1, max: 128 },
					iv: { type: "string", max: 64, optional: true },
					encryptedData: { type: "string", max: 8192, optional: true },
					nickname: { type: "string", max: 255, optional: true },
					avatar: { type: "string", max: 255, optional: true },
				},
				async handler(this: UsersThis, ctx: Ctx<{ code: string; iv?: string; encryptedData?: string; nickname?: string; avatar?: string }>): Promise<TokenPair> {
					const { wxAppId, wxSecret, wxApiBase } = this.config;
					if (!wxAppId || !wxSecret) throw new AppError("WX_NOT_CONFIGURED");
					let result;
					try {
						result = await code2Session(wxApiBase, wxAppId, wxSecret, ctx.params.code);
					} catch (err) {
						this.logger.warn({ error: (err as Error).message }, "WeChat code2session failed");
						throw new AppError("WX_UPSTREAM");
					}
					if (!result.ok) throw new AppError("WX_CODE_REJECTED", `WeChat rejected the login code (errcode ${result.errcode})`);

					let profile: WxProfile | null = null;
					if (ctx.params.encryptedData && ctx.params.iv) {
						try {
							profile = decryptWxData(result.session.session_key, ctx.params.encryptedData, ctx.params.iv, wxAppId);
						} catch (err) {
							throw new AppError("WX_DATA_INVALID", `invalid parameter 'encryptedData': ${(err as Error).message}`, { field: "encryptedData" });
						}
					}
					const userId = await this.findOrCreateWxUser(result.session.openid, profile, ctx.params.nickname ?? "", ctx.params.avatar ?? "");
					return this.tokenFor(userId);
				},
			},

			refreshToken: {
				auth: "required",
				params: {},
				async handler(this: UsersThis, ctx: Ctx): Promise<TokenPair> {
					return this.tokenFor(callerId(ctx));
				},
			},

			detail: {
				auth: "required",
				params: {},
				async handler(this: UsersThis, ctx: Ctx): Promise<{ userInfo: UserInfo }> {
					return { userInfo: await this.getUserInfo(ctx, callerId(ctx)) };
				},
			},

			update: {
				auth: "required",
				params: {
					nickname: { type: "string", min: 1, max: 255, trim: true, optional: true },
					sex: optInt(0, 2),
					avatar: optStr(255),
					info: optStr(255),
					signature: optStr(200),
					longitude: { type: "number", min: -180, max: 180, convert: true, optional: true },
					latitude: { type: "number", min: -90, max: 90, convert: true, optional: true },
				},
				async handler(this: UsersThis, ctx: Ctx<Partial<Pick<UserInfo, "nickname" | "sex" | "avatar" | "info" | "signature" | "longitude" | "latitude">>>): Promise<Record<string, never>> {
					const userId = callerId(ctx);
					const changes: Record<string, unknown> = {};
					for (const key of ["nickname", "sex", "avatar", "info", "signature", "longitude", "latitude"] as const) {
						if (ctx.params[key] !== undefined) changes[key] = ctx.params[key];
					}
					if (Object.keys(changes).length) {
						const [affected] = await this.models.User.update(changes, { where: { id: userId } });
						if (!affected) throw new AppError("USER_NOT_FOUND");
						await this.cleanUser(userId);
					}
					return {};
				},
			},

			/**
			 * The gateway's token check, for every token it met for the first time in the same moment: each one's
			 * user and expiry, or why it is no credential. The users come fresh from the database, all in one query.
			 */
			resolveTokens: {
				visibility: "public",
				params: { tokens: { type: "array", min: 1, max: 1000, items: { type: "string", min: 1, max: MAX_TOKEN_LENGTH } } },
				async handler(this: UsersThis, ctx: Ctx<{ tokens: string[] }>): Promise<TokenResolution[]> {
					return Promise.all(ctx.params.tokens.map(async (token): Promise<TokenResolution> => {
						const claims = verifyToken(token, this.config.jwtSecret);
						if (!claims) return { refused: "invalid or expired token" };
						try {
							const user = await this.userLoader.submit(claims.userId);
							return { id: user.id, isAdmin: user.isAdmin === 1, exp: claims.exp };
						} catch (err) {
							// A well-signed token of an account that no longer exists is no credential.
							if (err instanceof AppError && err.type === "USER_NOT_FOUND") return { refused: "the token's user does not exist" };
							throw err;
						}
					}));
				},
			},

			/** One user's public record, cached per id; cleaned on every change to that user. */
			get: {
				visibility: "public",
				cache: { keys: [...CACHE_KEYS["users.get"]], ttl: 300 },
				params: { id },
				async handler(this: UsersThis, ctx: Ctx<{ id: number }>): Promise<UserInfo> {
					// Cache misses of many callers (every first request of a token) share one query.
					return this.userLoader.submit(ctx.params.id);
				},
			},

			/** Many users' public records in one query, for lists (no N+1). Unknown ids are left out. */
			getMany: {
				visibility: "public",
				params: { ids: { type: "array", items: id, max: 1000 } },
				async handler(this: UsersThis, ctx: Ctx<{ ids: number[] }>): Promise<UserInfo[]> {
					if (!ctx.params.ids.length) return [];
					const rows = await this.models.User.findAll({ where: { id: [...new Set(ctx.params.ids)] } });
					return rows.map(r => toUserInfo(r.get({ plain: true })));
				},
			},

			/** How many accounts exist (for the operator console's `stats`). */
			count: {
				visibility: "public",
				async handler(this: UsersThis): Promise<number> {
					return this.models.User.count();
				},
			},

			/** The WeChat openids of those users who signed in with WeChat (for subscription messages). */
			wxOpenIds: {
				visibility: "public",
				params: { ids: { type: "array", items: id, max: 1000 } },
				async handler(this: UsersThis, ctx: Ctx<{ ids: number[] }>): Promise<Array<{ userId: number; openid: string }>> {
					if (!ctx.params.ids.length) return [];
					const rows = await this.models.UserAuth.findAll({ where: { userId: ctx.params.ids, authType: WX_AUTH_TYPE }, attributes: ["userId", "authKey"] });
					return rows.map(r => ({ userId: Number(r.userId), openid: r.authKey }));
				},
			},

			/** A sponsor by id for other services, or null when it no longer exists. */
			getSponsor: {
				visibility: "public",
				params: { id },
				async handler(this: UsersThis, ctx: Ctx<{ id: number }>): Promise<SponsorView | null> {
					const sponsor = await this.models.Sponsor.findByPk(ctx.params.id);
					return sponsor ? toSponsorView(sponsor.get({ plain: true })) : null;
				},
			},

			addSponsor: {
				auth: "required",
				params: { ...sponsorFields, userId: { type: "any", optional: true } },
				async handler(this: UsersThis, ctx: Ctx<SponsorParams>): Promise<{ id: number }> {
					// `userId` in the body is go-lottery's; the owner is always the caller.
					const sponsor = await this.models.Sponsor.create({
						type: 0, appletType: 0, isShow: 0, desc: "", avatar: "", qrCode: "", inputA: "", inputB: "",
						...sponsorAttributes(ctx.params),
						name: ctx.params.name ?? "",
						userId: callerId(ctx),
					});
					return { id: Number(sponsor.id) };
				},
			},

			sponsorList: {
				auth: "required",
				params: { page: optInt(0, 1_000_000), pageSize: optInt(0, 10_000) },
				async handler(this: UsersThis, ctx: Ctx<{ page?: number; pageSize?: number }>): Promise<{ list: SponsorView[] }> {
					const page = Math.max(1, ctx.params.page || 1);
					const pageSize = Math.min(PAGE_SIZE_MAX, ctx.params.pageSize || 10);
					const rows = await this.models.Sponsor.findAll({
						where: { userId: callerId(ctx) },
						order: [["id", "DESC"]],
						limit: pageSize,
						offset: (page - 1) * pageSize,
					});
					return { list: rows.map(r => toSponsorView(r.get({ plain: true }))) };
				},
			},

			updateSponsor: {
				auth: "required",
				params: { id, ...sponsorFields, name: { ...sponsorFields.name, optional: true }, userId: { type: "any", optional: true } },
				async handler(this: UsersThis, ctx: Ctx<SponsorParams & { id: number }>): Promise<Record<string, never>> {
					const sponsor = await this.ownSponsor(ctx.params.id, callerId(ctx));
					await sponsor.update(sponsorAttributes(ctx.params));
					await this.cleanCache("lottery", [], SPONSOR_VIEWS);
					return {};
				},
			},

			deleteSponsor: {
				auth: "required",
				params: { id },
				async handler(this: UsersThis, ctx: Ctx<{ id: number }>): Promise<Record<string, never>> {
					const sponsor = await this.ownSponsor(ctx.params.id, callerId(ctx));
					await sponsor.destroy();
					await this.cleanCache("lottery", [], SPONSOR_VIEWS);
					return {};
				},
			},

			sponsorDetail: {
				auth: "optional",
				params: { id },
				async handler(this: UsersThis, ctx: Ctx<{ id: number }>): Promise<SponsorView> {
					const sponsor = await this.models.Sponsor.findByPk(ctx.params.id);
					if (!sponsor) throw notFound("sponsor");
					return toSponsorView(sponsor.get({ plain: true }));
				},
			},
		},

		methods: {
			tokenFor(this: UsersThis, userId: number): TokenPair {
				try {
					return issueToken(userId, this.config.jwtSecret, this.config.jwtExpireSeconds);
				} catch (err) {
					this.logger.error({ err }, "token signing failed");
					throw new AppError("TOKEN_GENERATE");
				}
			},

			async getUserInfo(this: UsersThis, ctx: Ctx<unknown>, userId: number): Promise<UserInfo> {
				// Both parts are cached: read straight from the cache, called only when missing (lib/cache-keys.ts).
				const [user, counts] = await Promise.all([
					readThrough<UserInfo>(ctx, "users.get", { id: userId }),
					// The counters belong to the lottery service; a node set without it still answers, with zeros.
					readThrough<UserCounts>(ctx, "lottery.userCounts", { userId }).catch(err => {
						if (["ServiceNotFoundError", "ServiceNotAvailableError"].includes((err as Error).name)) return NO_COUNTS;
						throw err;
					}),
				]);
				return { ...user, ...counts };
			},

			async cleanUser(this: UsersThis, userId: number): Promise<void> {
				await this.cleanCache("users", [`users.get:${userId}`]);
			},

			/** Per client IP for every attempt, per mobile number for failed ones (successes are refunded). */
			async checkLoginRate(this: UsersThis, mobile: string, ip: string | undefined): Promise<void> {
				const checks = [this.rateLimiter.consume(`login:mobile:${mobile}`, this.config.loginLimitPerMobile)];
				if (ip) checks.push(this.rateLimiter.consume(`login:ip:${ip}`, this.config.loginLimitPerIp));
				const results = await Promise.all(checks);
				const refused = results.find(r => !r.allowed);
				if (refused) {
					throw new AppError("RATE_LIMITED", "too many login attempts, retry later", { retryAfter: Math.max(1, Math.ceil(refused.resetMs / 1000)) });
				}
			},

			/**
			 * The account bound to this openid, made on first login. Concurrent first logins of one openid race on
			 * the unique (auth_type, auth_key) index: the loser rolls back and reads the winner's account.
			 */
			async findOrCreateWxUser(this: UsersThis, openid: string, profile: WxProfile | null, nickname: string, avatar: string): Promise<number> {
				const { User, UserAuth } = this.models;
				const existing = await UserAuth.findOne({ where: { authType: WX_AUTH_TYPE, authKey: openid } });
				if (existing) return Number(existing.userId);

				const phone = profile?.purePhoneNumber ?? profile?.phoneNumber;
				const mobile = phone && MOBILE_PATTERN.test(phone) ? phone : null;
				try {
					return await this.adapter.db.transaction(async (t: Transaction) => {
						// A WeChat-verified phone number that already has an account signs in to that account.
						let user = mobile ? await User.findOne({ where: { mobile }, transaction: t }) : null;
						if (!user) {
							user = await User.create({
								mobile,
								nickname: (nickname || profile?.nickName || defaultNickname(mobile, crypto.randomUUID().replace(/-/g, ""))).slice(0, 255),
								avatar: (avatar || profile?.avatarUrl || "").slice(0, 255),
							}, { transaction: t });
							await recordEvent(this.adapter.db, t, "user.registered", { type: "user", id: Number(user.id) }, { userId: Number(user.id), via: "wechat" });
						}
						await UserAuth.create({ userId: Number(user.id), authType: WX_AUTH_TYPE, authKey: openid }, { transaction: t });
						return Number(user.id);
					});
				} catch (err) {
					if (!(err instanceof UniqueConstraintError)) throw err;
					const winner = await UserAuth.findOne({ where: { authType: WX_AUTH_TYPE, authKey: openid } });
					if (!winner) throw err;
					return Number(winner.userId);
				}
			},

			async ownSponsor(this: UsersThis, sponsorId: number, userId: number) {
				const sponsor = await this.models.Sponsor.findByPk(sponsorId);
				if (!sponsor) throw notFound("sponsor");
				if (Number(sponsor.userId) !== userId) throw forbidden("this sponsor belongs to another user");
				return sponsor;
			},
		},

		created(this: UsersThis) {
			this.config = config;
			this.userLoader = new Batcher(async (ids: number[]) => {
				// Plain rows: no model instances for records that are only read and passed on.
				const rows = await this.models.User.findAll({ where: { id: [...new Set(ids)] }, raw: true }) as unknown as UserRecord[];
				const byId = new Map(rows.map(r => [Number(r.id), toUserInfo(r)]));
				return ids.map(userId => {
					const user = byId.get(userId);
					return user ? { ok: true as const, value: user } : { ok: false as const, error: new AppError("USER_NOT_FOUND") };
				});
			}, { maxBatch: 500, parallel: 2 });
			this.redis = this.config.redisUri ? new Redis(this.config.redisUri, { lazyConnect: true, maxRetriesPerRequest: 2 }) : null;
			const prefix = `${this.config.namespace || "lottery"}:ratelimit:`;
			this.rateLimiter = this.redis ? new RedisRateLimiter(this.redis, prefix) : new MemoryRateLimiter();
		},

		async started(this: UsersThis) {
			if (this.redis) await this.redis.connect();
		},

		async stopped(this: UsersThis) {
			await this.rateLimiter.close();
			if (this.redis) await this.redis.quit().catch(() => undefined);
		},
	};
}
