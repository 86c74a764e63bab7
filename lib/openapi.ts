import { ErrorTable } from "../domain/errors";

/**
 * The OpenAPI 3 document of the gateway, generated from what the code says: the routes (services/api.service.ts
 * ROUTES and RAW_ROUTES), each routed action's parameter rules (fastest-validator) and `auth` mode, the envelope
 * and the error table (domain/errors.ts). Nothing here is written per endpoint by hand.
 */

/** What the document needs to know of one action. */
export interface ActionInfo {
	params?: Record<string, unknown>;
	auth?: "required" | "optional";
	/** Kept by the cacher: worth telling clients that reads may lag changes. */
	cache?: unknown;
	/** The schema of what the action answers (the envelope's `data`), read from its handler's type at build time. */
	response?: Record<string, unknown>;
}

export interface OpenApiInput {
	routes: Record<string, Record<string, string>>;
	rawRoutes: string[];
	/** An action's rules and auth mode by its full name (`lottery.createLottery`), or undefined if unknown. */
	lookup(action: string): ActionInfo | undefined;
	version: string;
	serverUrl?: string;
}

type Schema = Record<string, unknown>;

/** go-zero's clients send numbers as strings now and then; `convert: true` rules accept both. */
const CONVERTS = "A numeric string (\"7\") is accepted too.";

/** Example values that make sense for our field names; the rule decides for the rest. */
const EXAMPLES: Record<string, unknown> = {
	mobile: "13800138000",
	password: "secret123",
	name: "Spring lottery",
	thumb: "https://example.com/prize.png",
	introduce: "Join and win.",
	nickname: "lucky",
	avatar: "https://example.com/me.png",
	token: "eyJhbGciOiJIUzI1NiJ9.e30.signature",
	code: "0a1b2c3d",
	announceType: 1,
	grantType: 1,
	type: 1,
	level: 1,
	count: 1,
	pageSize: 10,
	pageIndex: 1,
	page: 1,
	lastId: 0,
};

/** fastest-validator's shorthand (`"string|optional|max:10"`) as an object rule. */
function expand(rule: unknown): Schema {
	if (typeof rule !== "string") return (rule ?? { type: "any" }) as Schema;
	const [type, ...flags] = rule.split("|");
	const out: Schema = { type };
	for (const flag of flags) {
		const [k, v] = flag.split(":");
		out[k] = v === undefined ? true : Number.isNaN(Number(v)) ? v : Number(v);
	}
	return out;
}

/** One fastest-validator rule as a JSON Schema (OpenAPI 3.0 dialect). */
export function ruleToSchema(rawRule: unknown, field = ""): Schema {
	const rule = expand(rawRule);
	const s: Schema = {};
	switch (rule.type) {
		case "number": {
			s.type = rule.integer ? "integer" : "number";
			if (rule.integer) s.format = "int64";
			if (typeof rule.min === "number") s.minimum = rule.min;
			else if (rule.positive) s.minimum = 1;
			if (typeof rule.max === "number" && rule.max < Number.MAX_SAFE_INTEGER) s.maximum = rule.max;
			if (rule.convert) s.description = CONVERTS;
			break;
		}
		case "string": {
			s.type = "string";
			if (typeof rule.min === "number" && rule.min > 0) s.minLength = rule.min;
			if (typeof rule.max === "number") s.maxLength = rule.max;
			if (typeof rule.length === "number") s.minLength = s.maxLength = rule.length;
			if (rule.pattern) s.pattern = rule.pattern instanceof RegExp ? rule.pattern.source : String(rule.pattern);
			if (Array.isArray(rule.enum)) s.enum = rule.enum;
			break;
		}
		case "boolean":
			s.type = "boolean";
			if (rule.convert) s.description = "\"true\"/\"false\", 1/0 are accepted too.";
			break;
		case "email":
			Object.assign(s, { type: "string", format: "email" });
			break;
		case "enum":
			s.enum = rule.values;
			break;
		case "equal":
			s.enum = [rule.value];
			break;
		case "array": {
			s.type = "array";
			s.items = rule.items ? ruleToSchema(rule.items, field) : {};
			if (typeof rule.min === "number") s.minItems = rule.min;
			if (typeof rule.max === "number") s.maxItems = rule.max;
			break;
		}
		case "object": {
			const props = (rule.props ?? rule.properties) as Record<string, unknown> | undefined;
			if (props) Object.assign(s, objectSchema(props));
			else Object.assign(s, { type: "object", additionalProperties: true, description: "Any object: kept as it is sent." });
			if (rule.strict === "remove") s.description = "Unknown fields are dropped.";
			break;
		}
		case "multi": {
			s.oneOf = ((rule.rules ?? []) as unknown[]).map(r => ruleToSchema(r, field));
			break;
		}
		default:
			// "any" and the rest: no constraint worth stating.
			break;
	}
	if (rule.nullable) s.nullable = true;
	if (rule.default !== undefined && typeof rule.default !== "function") s.default = rule.default;
	const example = exampleFor(field, s);
	if (example !== undefined) s.example = example;
	return s;
}

function exampleFor(field: string, s: Schema): unknown {
	if (s.type === "array" || s.type === "object" || s.oneOf) return undefined;
	if (Array.isArray(s.enum)) return s.enum[0];
	if (field in EXAMPLES && (typeof EXAMPLES[field] === "string") === (s.type === "string")) return EXAMPLES[field];
	if (s.type === "integer" || s.type === "number") {
		const min = typeof s.minimum === "number" ? s.minimum : 0;
		return field === "id" || /Id$/.test(field) ? Math.max(min, 1) : min;
	}
	if (s.type === "string") return typeof s.pattern === "string" ? undefined : "text".slice(0, typeof s.maxLength === "number" ? s.maxLength : 4);
	if (s.type === "boolean") return false;
	return undefined;
}

/** The rules of an action's params (or an object rule's props) as an object schema. */
export function objectSchema(params: Record<string, unknown>): Schema {
	const properties: Record<string, Schema> = {};
	const required: string[] = [];
	for (const [name, raw] of Object.entries(params)) {
		if (name.startsWith("$$")) continue;
		const rule = expand(raw);
		properties[name] = ruleToSchema(rule, name);
		if (!rule.optional && rule.default === undefined) required.push(name);
	}
	return { type: "object", properties, ...(required.length ? { required } : {}) };
}

const STATUS_TEXT: Record<number, string> = {
	400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 409: "Conflict", 413: "Payload too large",
	415: "Unsupported media type", 429: "Too many requests", 500: "Server error", 503: "Unavailable", 504: "Timeout",
};

/** Every status our errors use, each with its codes: the shared error responses. */
function errorResponses(): Record<string, Schema> {
	const byStatus = new Map<number, Array<[string, { code: number; message: string }]>>();
	for (const [name, e] of Object.entries(ErrorTable)) {
		const list = byStatus.get(e.status) ?? [];
		list.push([name, e]);
		byStatus.set(e.status, list);
	}
	const out: Record<string, Schema> = {};
	for (const [status, errors] of [...byStatus].sort((a, b) => a[0] - b[0])) {
		out[`E${status}`] = {
			description: `${STATUS_TEXT[status] ?? "Error"}. Codes: ${errors.map(([name, e]) => `${e.code} ${name} (${e.message})`).join("; ")}.`,
			content: {
				"application/json": {
					schema: {
						allOf: [{ $ref: "#/components/schemas/ErrorEnvelope" }, { type: "object", properties: { code: { type: "integer", enum: errors.map(([, e]) => e.code) } } }],
					},
					example: { code: errors[0][1].code, msg: errors[0][1].message },
				},
			},
		};
	}
	return out;
}

/** What an action's cache settings mean for a client. A cache enabled by a function is on for some callers. */
function cacheNote(cache: unknown): string {
	const lag = "changes show up once the entry is cleaned (at once) or expires.";
	const conditional = typeof cache === "object" && cache !== null && typeof (cache as { enabled?: unknown }).enabled === "function";
	return conditional ? `Anonymous answers come from the cache; ${lag}` : `Answered from the cache; ${lag}`;
}

function operationFor(method: string, action: string, info: ActionInfo | undefined, statuses: Set<number>): Schema {
	const [service, name] = action.split(".");
	const body = info ? objectSchema(info.params ?? {}) : { type: "object" };
	const example = info ? exampleOf(body) : {};
	const auth = info?.auth;
	const notes = [
		auth === "required" ? "Needs a bearer token." : auth === "optional" ? "A bearer token is optional: with one, the answer is about the caller." : "No token needed.",
		info?.cache ? cacheNote(info.cache) : "",
		info ? "" : "The action's node was not reachable when this document was made: its parameters are not listed.",
	].filter(Boolean).join(" ");
	const responses: Record<string, unknown> = {
		200: {
			description: "OK: the envelope with the action's answer in `data`.",
			content: {
				"application/json": {
					schema: info?.response
						? { allOf: [{ $ref: "#/components/schemas/Envelope" }, { type: "object", properties: { data: info.response } }] }
						: { $ref: "#/components/schemas/Envelope" },
				},
			},
		},
		400: { $ref: "#/components/responses/E400" },
	};
	if (auth === "required") responses[401] = { $ref: "#/components/responses/E401" };
	for (const status of [403, 404, 409, 413, 415, 429, 500, 503, 504]) {
		if (statuses.has(status)) responses[status] = { $ref: `#/components/responses/E${status}` };
	}
	const op: Schema = {
		operationId: `${service}_${name}`,
		tags: [service],
		summary: `Moleculer action ${action}`,
		description: notes,
		"x-moleculer-action": action,
		responses,
	};
	if (auth) op.security = auth === "required" ? [{ bearerAuth: [] }] : [{ bearerAuth: [] }, {}];
	if (method !== "get") op.requestBody = { required: true, content: { "application/json": { schema: body, example } } };
	return op;
}

function exampleOf(schema: Schema): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [k, s] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
		if (s.example !== undefined) out[k] = s.example;
		else if (s.type === "array") out[k] = [];
		else if (s.type === "object") out[k] = exampleOf(s);
	}
	return out;
}

/** `"POST user/login"` under `"/usercenter/v1"` → `["post", "/usercenter/v1/user/login"]`. */
export function routePath(prefix: string, alias: string): [string, string] {
	const [method, rel] = alias.split(/\s+/);
	const path = `${prefix.replace(/\/$/, "")}/${rel.replace(/^\//, "")}`.replace(/\/$/, "") || "/";
	return [method.toLowerCase(), path];
}

export function buildOpenApi(input: OpenApiInput): Record<string, unknown> {
	const statuses = new Set(Object.values(ErrorTable).map(e => e.status));
	const paths: Record<string, Record<string, unknown>> = {};
	for (const [prefix, aliases] of Object.entries(input.routes)) {
		for (const [alias, action] of Object.entries(aliases)) {
			const [method, path] = routePath(prefix, alias);
			(paths[path] ??= {})[method] = operationFor(method, action, input.lookup(action), statuses);
		}
	}
	for (const raw of input.rawRoutes) {
		const [method, path] = raw.split(" ");
		const m = method.toLowerCase();
		(paths[path] ??= {})[m] = {
			operationId: `wechat_${m}_event`,
			tags: ["notice"],
			summary: `${method} ${path} → WeChat message-server callback`,
			description: "WeChat's server calls this; the answer is plain text, not the envelope. The query's signature/timestamp/nonce are checked against WX_TOKEN (notice.verifyEvent).",
			parameters: ["signature", "timestamp", "nonce", ...(m === "get" ? ["echostr"] : [])].map(name => ({ name, in: "query", required: true, schema: { type: "string" } })),
			responses: {
				200: { description: m === "get" ? "`echostr`, echoed" : "`success`", content: { "text/plain": { schema: { type: "string" } } } },
				403: { description: "The signature is not WeChat's.", content: { "text/plain": { schema: { type: "string" } } } },
			},
		};
	}
	for (const [path, summary, body] of [
		["/live", "Liveness: the process answers.", { status: "ok" }],
		["/ready", "Readiness: 200 when the database and every routed service are reachable, 503 while draining or not yet ready.", { status: "ready", checks: {} }],
		["/openapi.json", "This document.", {}],
	] as const) {
		paths[path] = {
			get: {
				operationId: `gateway_${path.replace(/[^a-z]/g, "")}`,
				tags: ["gateway"],
				summary,
				responses: { 200: { description: "OK", content: { "application/json": { schema: { type: "object" }, example: body } } }, ...(path === "/ready" ? { 503: { description: "Not ready" } } : {}) },
			},
		};
	}
	return {
		openapi: "3.0.3",
		info: {
			title: "moleculer-lottery API",
			version: input.version,
			description: [
				"go-lottery's HTTP contract on a Moleculer cluster, generated from the gateway's routes and each action's parameter rules.",
				"Every JSON answer is the envelope `{code, msg, data}`: `code` 200 and the result in `data`, or an error code and its message (`msg` names the offending field for invalid input).",
				"Times are unix seconds. Send `Authorization: Bearer <accessToken>` (from register, login or wxMiniAuth) where a token is needed.",
				"Every answer carries `X-Request-ID`; send your own (1–128 of `A-Za-z0-9._:-`) to follow a request through the logs.",
			].join("\n\n"),
		},
		...(input.serverUrl ? { servers: [{ url: input.serverUrl }] } : {}),
		tags: [...new Set(Object.values(input.routes).flatMap(a => Object.values(a).map(n => n.split(".")[0]))), "gateway"].map(name => ({ name })),
		paths,
		components: {
			securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT (HS256, claim jwtUserId)" } },
			schemas: {
				Envelope: {
					type: "object",
					required: ["code", "msg"],
					properties: { code: { type: "integer", example: 200 }, msg: { type: "string", example: "OK" }, data: { type: "object", description: "The action's answer." } },
				},
				ErrorEnvelope: {
					type: "object",
					required: ["code", "msg"],
					properties: { code: { type: "integer", description: "See the error table (doc/errors.md)." }, msg: { type: "string" } },
				},
			},
			responses: errorResponses(),
		},
		"x-error-codes": Object.fromEntries(Object.entries(ErrorTable).map(([name, e]) => [name, e])),
	};
}
