import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import type { ActionSchema, Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import { AppError } from "../domain/errors";
import { MAX_TOKEN_LENGTH } from "../domain/token";
import { Batcher } from "../lib/batcher";
import type { Config } from "../lib/config";
import { activeDatabases } from "../lib/database";
import { toHttpError } from "../lib/http-errors";
import { isDraining } from "../lib/lifecycle";
import { LocalCache } from "../lib/local-cache";
import { projectPath } from "../lib/paths";
import type { AuthUser, RequestMeta, TokenResolution } from "../lib/meta";

/**
 * go-lottery's HTTP contract (../shared/reference/go-lottery-swagger), path by path. Only these aliases are
 * published: no auto-aliases, and `mappingPolicy: "restrict"` keeps every other action off the web.
 */
export const ROUTES: Record<string, Record<string, string>> = {
	"/usercenter/v1": {
		"POST user/register": "users.register",
		"POST user/login": "users.login",
		"POST user/wxMiniAuth": "users.wxMiniAuth",
		"POST user/detail": "users.detail",
		"PUT user/update": "users.update",
		"POST user/refreshToken": "users.refreshToken",
		"POST userSponsor/addSponsor": "users.addSponsor",
		"POST userSponsor/sponsorList": "users.sponsorList",
		"POST userSponsor/sponsorDetail": "users.sponsorDetail",
		"POST userContact/upDateSponsor": "users.updateSponsor",
		"POST userContact/sponsorDel": "users.deleteSponsor",
	},
	"/lottery/v1": {
		"POST lottery/createLottery": "lottery.createLottery",
		"POST lottery/updateLottery": "lottery.updateLottery",
		"POST lottery/publishLottery": "lottery.publishLottery",
		"POST lottery/cancelLottery": "lottery.cancelLottery",
		"POST lottery/setLotterySelected": "lottery.setLotterySelected",
		"POST lottery/lotteryDetail": "lottery.lotteryDetail",
		"POST lottery/lotteryList": "lottery.lotteryList",
		"POST lottery/lotteryListSlow": "lottery.lotteryListSlow",
		"POST lottery/lotteryListAfterLogin": "lottery.lotteryListAfterLogin",
		"POST lottery/getUserCreatedLotteryList": "lottery.getUserCreatedLotteryList",
		"POST lottery/getUserAllLotteryList": "lottery.getUserAllLotteryList",
		"POST lottery/getLotteryWinList": "lottery.getLotteryWinList",
		"POST lottery/getLotteryWinnersList": "lottery.getLotteryWinnersList",
		"POST lottery/participations": "lottery.participations",
		"POST lottery/participation": "lottery.participation",
		"POST lottery/instantParticipation": "draw.instantParticipation",
		"POST lottery/instantLog": "draw.instantLog",
		"POST lottery/drawNow": "draw.drawNow",
		"POST lottery/drawProof": "draw.drawProof",
		"POST lottery/drawParticipants": "draw.drawParticipants",
		"POST prize/claimPrize": "prize.claimPrize",
		"POST prize/claimList": "prize.claimList",
		"POST prize/deliverPrize": "prize.deliverPrize",
	},
};

	// (GET and POST /notice/v1/event, WeChat's server callbacks, answer plain text: see wechatRoute below.)
ROUTES["/notice/v1"] = {
	"POST notice/list": "notice.list",
	"POST notice/read": "notice.read",
};

/** Routes answered outside the JSON envelope, as WeChat expects. */
export const RAW_ROUTES = ["GET /notice/v1/event", "POST /notice/v1/event"];

/** The services the routes call: /ready waits until each has a live node somewhere in the cluster. */
export const ROUTED_SERVICES = [...new Set(Object.values(ROUTES).flatMap(a => Object.values(a).map(n => n.split(".")[0])))];

/** The web console's static files. */
const PUBLIC_DIR = projectPath("public");

/** The swagger-ui-dist files /docs serves, and their types. */
const SWAGGER_DIR = path.dirname(require.resolve("swagger-ui-dist/package.json"));
const SWAGGER_FILES: Record<string, string> = {
	"swagger-ui.css": "text/css; charset=utf-8",
	"swagger-ui-bundle.js": "application/javascript; charset=utf-8",
	"swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
	"favicon-32x32.png": "image/png",
	"favicon-16x16.png": "image/png",
};

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>moleculer-lottery API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout", validatorUrl: null });
</script>
</body>
</html>
`;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

type Req = IncomingMessage & { $action?: ActionSchema; $ctx?: Context<unknown, RequestMeta>; $startTime?: [number, number]; originalUrl?: string };
type Res = ServerResponse;

interface ApiThis extends Service {
	config: Config;
	/** Tokens this gateway resolved in the last minute: no transporter round trip for a known token. */
	tokens: LocalCache<AuthUser & { exp: number }>;
	/** Tokens met for the first time in the same moment go to users.resolveTokens together. */
	tokenResolver: Batcher<string, TokenResolution>;
	clientIp(req: Req): string;
	sendJson(res: Res, status: number, body: unknown): void;
	accessLog(req: Req, status: number): void;
	readiness(): Promise<{ ready: boolean; checks: Record<string, unknown> }>;
	sendError(req: Req, res: Res, err: Error): void;
	answerWeChat(req: Req & { query?: Record<string, string> }, res: Res, answer: string): void;
}

/** The REST gateway, configured from the node's environment. */
export function createApiService(config: Config, openApi: () => Record<string, unknown> = () => ({})): ServiceSchema<ServiceSettingSchema, ApiThis> {
	let document: string | null = null;
	const probes = {
		path: "/",
		mappingPolicy: "restrict",
		bodyParsers: { json: false, urlencoded: false },
		logging: false,
		aliases: {
			"GET live"(this: ApiThis, _req: Req, res: Res) {
				this.sendJson(res, 200, { status: "ok" });
			},
			// The OpenAPI document, generated from the routes and the actions' rules (lib/openapi.ts) once per process.
			"GET openapi.json"(this: ApiThis, _req: Req, res: Res) {
				document ??= JSON.stringify(openApi());
				res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-cache" });
				res.end(document);
			},
			"GET ready"(this: ApiThis, _req: Req, res: Res) {
				this.readiness().then(
					r => this.sendJson(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", checks: r.checks }),
					() => this.sendJson(res, 503, { status: "not ready" }),
				);
			},
		},
	};

	// WeChat's message-server verification: echo `echostr` as plain text when the signature is WeChat's.
	const wechatRoute = {
		path: "/notice/v1/event",
		mappingPolicy: "restrict",
		bodyParsers: { json: { limit: config.bodyLimit }, urlencoded: false },
		aliases: {
			"GET /"(this: ApiThis, req: Req & { query?: Record<string, string> }, res: Res) {
				this.answerWeChat(req, res, String(req.query?.echostr ?? ""));
			},
			"POST /"(this: ApiThis, req: Req & { query?: Record<string, string> }, res: Res) {
				this.answerWeChat(req, res, "success");
			},
		},
	};

	// Swagger UI from the swagger-ui-dist package's own files (no CDN), pointed at /openapi.json.
	const docsRoute = {
		path: "/docs",
		mappingPolicy: "restrict",
		bodyParsers: { json: false, urlencoded: false },
		logging: false,
		aliases: {
			"GET /"(_req: Req, res: Res) {
				res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
				res.end(DOCS_PAGE);
			},
			"GET /:file"(req: Req & { $params?: { file?: string } }, res: Res) {
				const file = req.$params?.file ?? "";
				const type = SWAGGER_FILES[file];
				if (!type) {
					res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
					res.end("not found");
					return;
				}
				res.writeHead(200, { "Content-Type": type, "Cache-Control": "public, max-age=86400" });
				fs.createReadStream(path.join(SWAGGER_DIR, file)).pipe(res);
			},
		},
	};

	const apiRoutes = Object.entries(ROUTES).map(([path, aliases]) => ({
		path,
		aliases,
		mappingPolicy: "restrict",
		authentication: true,
		authorization: true,
		bodyParsers: { json: { limit: config.bodyLimit, strict: true }, urlencoded: false },
		callOptions: { timeout: config.requestTimeoutMs },
		onBeforeCall(this: ApiThis, ctx: Context<unknown, RequestMeta>, _route: unknown, req: Req) {
			ctx.meta.clientIp = this.clientIp(req);
		},
		onAfterCall(this: ApiThis, _ctx: Context, _route: unknown, req: Req, _res: Res, data: unknown) {
			this.accessLog(req, 200);
			return { code: 200, msg: "OK", data: data ?? {} };
		},
	}));

	return {
		name: "api",
		mixins: [ApiGateway as unknown as ServiceSchema],

		settings: {
			port: config.port,
			ip: config.host,
			routes: [probes, docsRoute, wechatRoute, ...apiRoutes],
			// The web console (public/): what no route answers is looked up there.
			// It loads nothing from anywhere else, and says so to the browser.
			assets: {
				folder: PUBLIC_DIR,
				options: {
					index: "index.html",
					maxAge: 0,
					setHeaders(res: Res) {
						res.setHeader("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
						res.setHeader("X-Content-Type-Options", "nosniff");
					},
				},
			},
			cors: {
				origin: config.corsOrigins,
				methods: ["GET", "POST", "PUT", "OPTIONS"],
				allowedHeaders: ["Content-Type", "Authorization", "X-Request-ID"],
				exposedHeaders: ["X-Request-ID", "Retry-After"],
				maxAge: 3600,
			},
			logRequest: null,
			logResponse: null,
			log4XXResponses: false,
			logRouteRegistration: "debug",
			// Untrusted request ids are replaced, so a client cannot write arbitrary text into our logs.
			rootCallOptions(options: { requestID?: string }, req: Req) {
				const id = req.headers["x-request-id"];
				options.requestID = typeof id === "string" && REQUEST_ID.test(id) ? id : undefined;
			},
			onError(this: ApiThis, req: Req, res: Res, err: Error) {
				const mapped = toHttpError(err);
				const requestId = req.$ctx?.requestID;
				if (!mapped.expected) {
					this.logger.error({ requestId, err, url: req.originalUrl ?? req.url }, "request failed unexpectedly");
				}
				if (requestId && !res.headersSent) res.setHeader("X-Request-ID", requestId);
				if (mapped.retryAfter && !res.headersSent) res.setHeader("Retry-After", String(mapped.retryAfter));
				this.sendJson(res, mapped.status, mapped.body);
				this.accessLog(req, mapped.status);
			},
		},

		methods: {
			/**
			 * Resolves the bearer token once per request through the cached users.resolveToken. An action marked
			 * `auth: "optional"` treats a bad token as no token; "required" ones are refused in authorize().
			 */
			async authenticate(this: ApiThis, ctx: Context<unknown, RequestMeta>, _route: unknown, req: Req): Promise<AuthUser | null> {
				const mode = req.$action?.auth;
				if (!mode) return null;
				const header = req.headers.authorization;
				if (!header) return null;
				const m = /^Bearer\s+(\S+)$/i.exec(header);
				if (!m) {
					if (mode === "required") throw new AppError("UNAUTHORIZED", "malformed Authorization header: use 'Bearer <accessToken>'");
					return null;
				}
				if (m[1].length > MAX_TOKEN_LENGTH) {
					if (mode === "required") throw new AppError("UNAUTHORIZED", `the token is longer than ${MAX_TOKEN_LENGTH} characters`);
					return null;
				}
				try {
					// A token resolved in the last minute is known here; new ones go to users.resolveTokens, many in one
					// call. Either way the expiry is checked on every request, so no cache extends a token's life.
					let resolved = this.tokens.get(m[1]);
					if (!resolved) {
						const answer = await this.tokenResolver.submit(m[1]);
						if ("refused" in answer) throw new AppError("UNAUTHORIZED", answer.refused);
						resolved = answer;
						this.tokens.set(m[1], resolved, resolved.exp * 1000);
					}
					if (resolved.exp * 1000 <= Date.now()) throw new AppError("UNAUTHORIZED", "token expired");
					return { id: resolved.id, isAdmin: resolved.isAdmin };
				} catch (err) {
					if (mode === "optional" && err instanceof AppError && err.type === "UNAUTHORIZED") return null;
					throw err;
				}
			},

			async authorize(this: ApiThis, ctx: Context<unknown, RequestMeta>, _route: unknown, req: Req): Promise<void> {
				if (req.$action?.auth === "required" && !ctx.meta.user) {
					throw new AppError("UNAUTHORIZED", "missing token: send 'Authorization: Bearer <accessToken>'");
				}
			},

			/** moleculer-web's own logs stack traces of every 5xx; ours (settings.onError) logs only the unexpected, once. */
		errorHandler(this: ApiThis, req: Req, res: Res, err: Error): void {
			this.sendError(req, res, err);
		},

		/** WeChat's callbacks: `answer` as plain text when the query's signature is WeChat's, 403 otherwise. */
		answerWeChat(this: ApiThis, req: Req & { query?: Record<string, string> }, res: Res, answer: string): void {
			const q = req.query ?? {};
			req.$ctx!.call<boolean, object>("notice.verifyEvent", { signature: String(q.signature ?? ""), timestamp: String(q.timestamp ?? ""), nonce: String(q.nonce ?? "") }).then(
				ok => {
					res.writeHead(ok ? 200 : 403, { "Content-Type": "text/plain; charset=utf-8" });
					res.end(ok ? answer : "invalid signature");
				},
				err => this.sendError(req, res, err),
			);
		},

		clientIp(this: ApiThis, req: Req): string {
				if (this.config.trustProxy) {
					const fwd = req.headers["x-forwarded-for"];
					const first = (Array.isArray(fwd) ? fwd[0] : fwd)?.split(",")[0]?.trim();
					if (first) return first;
				}
				return req.socket.remoteAddress ?? "";
			},

			sendJson(res: Res, status: number, body: unknown): void {
				if (res.headersSent) {
					res.end();
					return;
				}
				const payload = JSON.stringify(body);
				res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(payload) });
				res.end(payload);
			},

			accessLog(this: ApiThis, req: Req, status: number): void {
				const started = req.$startTime;
				const ms = started ? Number(process.hrtime.bigint() / 1000n) / 1000 - (started[0] * 1e3 + started[1] / 1e6) : undefined;
				this.logger.info({ requestId: req.$ctx?.requestID, method: req.method, path: (req.originalUrl ?? req.url ?? "").split("?")[0], status, ms: ms === undefined ? undefined : Math.round(ms * 10) / 10 }, "http");
			},

			async readiness(this: ApiThis) {
				const checks: Record<string, unknown> = { broker: this.broker.started && !isDraining(this.broker) };
				const dbs = activeDatabases();
				const dbResults = await Promise.all(dbs.map(db => db.query("SELECT 1").then(() => true, () => false)));
				checks.database = dbResults.every(Boolean);
				const available = new Set(
					(this.broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true }) as Array<{ name: string }>).map(s => s.name),
				);
				const services = Object.fromEntries(ROUTED_SERVICES.map(name => [name, available.has(name)]));
				checks.services = services;
				const ready = checks.broker === true && checks.database === true && Object.values(services).every(Boolean);
				return { ready, checks };
			},
		},

		created(this: ApiThis) {
			this.config = config;
			// A minute: how long a change to a user (made an operator, removed) may take to reach a token in use.
			this.tokens = new LocalCache(100_000, 60_000);
			this.tokenResolver = new Batcher(async tokens => {
				const answers = await this.broker.call<TokenResolution[], { tokens: string[] }>("users.resolveTokens", { tokens });
				return answers.map(value => ({ ok: true as const, value }));
			}, { maxBatch: 1000, parallel: 4 });
		},
	};
}
