import path from "node:path";

/**
 * Every environment variable the system reads, parsed once. README.md ("Configuration") and .env.example
 * list the same variables; test/unit/config.spec.ts checks that the three agree.
 */
export interface RateLimitRule {
	limit: number;
	windowMs: number;
}

export interface Config {
	nodeEnv: string;
	port: number;
	host: string;
	dataDir: string;
	dbUri: string | null;
	dbPoolMax: number;
	redisUri: string | null;
	transporter: string | null;
	services: string[] | null;
	namespace: string;
	nodeId: string | null;
	jwtSecret: string;
	jwtExpireSeconds: number;
	logLevel: string;
	requestTimeoutMs: number;
	bodyLimit: string;
	corsOrigins: string[] | "*";
	trustProxy: boolean;
	passwordMinLength: number;
	loginLimitPerMobile: RateLimitRule;
	loginLimitPerIp: RateLimitRule;
	wxAppId: string;
	wxSecret: string;
	wxApiBase: string;
	shutdownGraceMs: number;
	drawPollMs: number;
	drawLeaseMs: number;
	kafkaBrokers: string[] | null;
	kafkaTopic: string;
	outboxPollMs: number;
	wxMsgToken: string;
	wxNoticeTemplateId: string;
	noticeWebhookUrl: string | null;
	noticeWebhookSecret: string;
	noticeRetryBaseMs: number;
	logKafkaBrokers: string[] | null;
	logKafkaTopic: string;
	logKafkaBuffer: number;
	metricsPort: number | null;
	cacheLocalTtlMs: number;
}

/** The development secret: fine on a laptop, refused when NODE_ENV=production. */
export const DEFAULT_JWT_SECRET = "dev-only-change-me";

export const ALL_SERVICES = ["api", "users", "lottery", "prize", "draw", "outbox", "notice"] as const;

/** Every variable loadConfig() reads. README.md and .env.example must document each (a unit test checks). */
export const ENV_VARS = [
	"NODE_ENV", "PORT", "HOST", "DATA_DIR", "DB_URI", "DB_POOL_MAX", "REDIS_URI", "TRANSPORTER", "SERVICES", "NAMESPACE",
	"NODE_ID", "JWT_SECRET", "JWT_EXPIRE", "LOG_LEVEL", "REQUEST_TIMEOUT", "BODY_LIMIT", "CORS_ORIGINS", "TRUST_PROXY",
	"PASSWORD_MIN_LENGTH", "LOGIN_LIMIT_MOBILE", "LOGIN_LIMIT_IP", "WX_APPID", "WX_SECRET", "WX_API_BASE", "SHUTDOWN_GRACE", "DRAW_POLL_MS", "DRAW_LEASE_MS",
	"KAFKA_BROKERS", "KAFKA_TOPIC", "OUTBOX_POLL_MS", "WX_MSG_TOKEN", "WX_NOTICE_TEMPLATE_ID", "NOTICE_WEBHOOK_URL",
	"NOTICE_WEBHOOK_SECRET", "NOTICE_RETRY_BASE_MS", "LOG_KAFKA_BROKERS", "LOG_KAFKA_TOPIC", "LOG_KAFKA_BUFFER", "METRICS_PORT",
	"CACHE_LOCAL_TTL_MS",
] as const;

function int(env: NodeJS.ProcessEnv, name: string, def: number, min = 0): number {
	const raw = env[name];
	if (raw === undefined || raw === "") return def;
	const n = Number(raw);
	if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got '${raw}'`);
	return n;
}

function str(env: NodeJS.ProcessEnv, name: string): string | null {
	const raw = env[name];
	return raw === undefined || raw.trim() === "" ? null : raw.trim();
}

/** "10/60s" → 10 attempts per 60 seconds. Units: ms, s, m, h. */
export function parseRateLimit(name: string, raw: string): RateLimitRule {
	const m = /^(\d+)\s*\/\s*(\d+)\s*(ms|s|m|h)$/.exec(raw.trim());
	if (!m) throw new Error(`${name} must look like '10/60s' (count/window), got '${raw}'`);
	const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[3] as "ms" | "s" | "m" | "h"];
	const limit = Number(m[1]);
	const windowMs = Number(m[2]) * unit;
	if (limit < 1 || windowMs < 1) throw new Error(`${name} needs a count and a window above zero, got '${raw}'`);
	return { limit, windowMs };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
	const nodeEnv = env.NODE_ENV ?? "development";
	const jwtSecret = str(env, "JWT_SECRET") ?? DEFAULT_JWT_SECRET;
	if (nodeEnv === "production" && (jwtSecret === DEFAULT_JWT_SECRET || jwtSecret.length < 32)) {
		throw new Error("JWT_SECRET must be set to a random string of at least 32 characters when NODE_ENV=production");
	}

	const servicesRaw = str(env, "SERVICES");
	let services: string[] | null = null;
	if (servicesRaw) {
		services = servicesRaw.split(",").map(s => s.trim()).filter(Boolean);
		const unknown = services.filter(s => !(ALL_SERVICES as readonly string[]).includes(s));
		if (unknown.length) throw new Error(`SERVICES names unknown services: ${unknown.join(", ")} (known: ${ALL_SERVICES.join(", ")})`);
	}

	const cors = str(env, "CORS_ORIGINS") ?? "*";
	return {
		nodeEnv,
		port: int(env, "PORT", 3000),
		host: str(env, "HOST") ?? "127.0.0.1",
		dataDir: path.resolve(str(env, "DATA_DIR") ?? "data"),
		dbUri: str(env, "DB_URI"),
		dbPoolMax: int(env, "DB_POOL_MAX", 10, 1),
		redisUri: str(env, "REDIS_URI"),
		transporter: str(env, "TRANSPORTER"),
		services,
		namespace: str(env, "NAMESPACE") ?? "",
		nodeId: str(env, "NODE_ID"),
		jwtSecret,
		jwtExpireSeconds: int(env, "JWT_EXPIRE", 7 * 24 * 3600, 60),
		logLevel: str(env, "LOG_LEVEL") ?? "info",
		requestTimeoutMs: int(env, "REQUEST_TIMEOUT", 10_000, 100),
		bodyLimit: str(env, "BODY_LIMIT") ?? "64kb",
		corsOrigins: cors === "*" ? "*" : cors.split(",").map(s => s.trim()).filter(Boolean),
		trustProxy: ["1", "true", "yes"].includes((env.TRUST_PROXY ?? "").toLowerCase()),
		passwordMinLength: int(env, "PASSWORD_MIN_LENGTH", 6, 1),
		loginLimitPerMobile: parseRateLimit("LOGIN_LIMIT_MOBILE", env.LOGIN_LIMIT_MOBILE || "10/60s"),
		loginLimitPerIp: parseRateLimit("LOGIN_LIMIT_IP", env.LOGIN_LIMIT_IP || "100/60s"),
		wxAppId: str(env, "WX_APPID") ?? "",
		wxSecret: str(env, "WX_SECRET") ?? "",
		wxApiBase: (str(env, "WX_API_BASE") ?? "https://api.weixin.qq.com").replace(/\/+$/, ""),
		shutdownGraceMs: int(env, "SHUTDOWN_GRACE", 0),
		drawPollMs: int(env, "DRAW_POLL_MS", 500, 50),
		drawLeaseMs: int(env, "DRAW_LEASE_MS", 30_000, 1000),
		kafkaBrokers: str(env, "KAFKA_BROKERS")?.split(",").map(b => b.trim()).filter(Boolean) ?? null,
		kafkaTopic: str(env, "KAFKA_TOPIC") ?? "lottery.events",
		outboxPollMs: int(env, "OUTBOX_POLL_MS", 200, 20),
		wxMsgToken: str(env, "WX_MSG_TOKEN") ?? "",
		wxNoticeTemplateId: str(env, "WX_NOTICE_TEMPLATE_ID") ?? "",
		noticeWebhookUrl: str(env, "NOTICE_WEBHOOK_URL"),
		noticeWebhookSecret: str(env, "NOTICE_WEBHOOK_SECRET") ?? "",
		noticeRetryBaseMs: int(env, "NOTICE_RETRY_BASE_MS", 1000, 10),
		logKafkaBrokers: str(env, "LOG_KAFKA_BROKERS")?.split(",").map(b => b.trim()).filter(Boolean) ?? null,
		logKafkaTopic: str(env, "LOG_KAFKA_TOPIC") ?? "lottery-log",
		logKafkaBuffer: int(env, "LOG_KAFKA_BUFFER", 10_000, 1),
		metricsPort: str(env, "METRICS_PORT") === null ? null : int(env, "METRICS_PORT", 3030),
		cacheLocalTtlMs: int(env, "CACHE_LOCAL_TTL_MS", 2000),
	};
}
