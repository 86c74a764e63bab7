import fs from "node:fs";
import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";
import { buildBrokerOptions } from "../moleculer.config";
import { createApiService, RAW_ROUTES, ROUTES } from "../services/api.service";
import { createDrawService } from "../services/draw.service";
import { createLotteryService } from "../services/lottery.service";
import { createNoticeService } from "../services/notice.service";
import { createOutboxService } from "../services/outbox.service";
import { createPrizeService } from "../services/prize.service";
import { createUsersService } from "../services/users.service";
import { ALL_SERVICES, type Config } from "./config";
import { buildOpenApi, type ActionInfo } from "./openapi";
import { projectPath } from "./paths";
import { version as PACKAGE_VERSION } from "../package.json";

/** Every service this code base can run, by the name SERVICES uses. */
export const SERVICE_FACTORIES: Record<(typeof ALL_SERVICES)[number], (config: Config) => ServiceSchema> = {
	api: config => createApiService(config, () => servedOpenApi(config)) as unknown as ServiceSchema,
	users: config => createUsersService(config) as unknown as ServiceSchema,
	lottery: config => createLotteryService(config) as unknown as ServiceSchema,
	prize: config => createPrizeService(config) as unknown as ServiceSchema,
	draw: config => createDrawService(config) as unknown as ServiceSchema,
	outbox: config => createOutboxService(config) as unknown as ServiceSchema,
	notice: config => createNoticeService(config) as unknown as ServiceSchema,
};

/** A broker running the services the configuration names (all of them by default). Not started yet. */
export function createNode(config: Config, overrides: Partial<BrokerOptions> = {}, extras: Parameters<typeof buildBrokerOptions>[1] = {}): ServiceBroker {
	const broker = new ServiceBroker({ ...buildBrokerOptions(config, extras), ...overrides });
	const names = config.services ?? [...ALL_SERVICES];
	for (const name of names) broker.createService(SERVICE_FACTORIES[name as keyof typeof SERVICE_FACTORIES](config));
	return broker;
}

/** Where `npm run openapi` writes the document, response schemas included. */
export const OPENAPI_FILE = projectPath("doc", "openapi.json");

/**
 * What GET /openapi.json serves: doc/openapi.json, which `npm run openapi` generates with the response schemas
 * read from the handlers' types (a test keeps it equal to the code); without that file, the document generated
 * here and now, requests and all but with untyped answers.
 */
export function servedOpenApi(config: Config): Record<string, unknown> {
	if (fs.existsSync(OPENAPI_FILE)) return JSON.parse(fs.readFileSync(OPENAPI_FILE, "utf8")) as Record<string, unknown>;
	return openApiDocument(config);
}

/**
 * The gateway's OpenAPI document, from the code: the routes, and each routed action's rules as the service
 * schemas declare them (the same whichever nodes are up, and with the RegExp patterns a registry would lose).
 */
export function openApiDocument(config: Config, responses: Map<string, Record<string, unknown>> = new Map(), serverUrl?: string): Record<string, unknown> {
	const actions = new Map<string, ActionInfo>();
	for (const [name, factory] of Object.entries(SERVICE_FACTORIES)) {
		if (name === "api") continue;
		const schema = factory(config);
		for (const [action, def] of Object.entries(schema.actions ?? {})) {
			if (!def || typeof def !== "object") continue;
			const d = def as { params?: Record<string, unknown>; auth?: "required" | "optional"; cache?: unknown };
			const name = `${schema.name}.${action}`;
			actions.set(name, { params: d.params, auth: d.auth, cache: d.cache, response: responses.get(name) });
		}
	}
	return buildOpenApi({ routes: ROUTES, rawRoutes: RAW_ROUTES, lookup: a => actions.get(a), version: PACKAGE_VERSION, serverUrl });
}
