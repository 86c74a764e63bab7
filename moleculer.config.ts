import type { BrokerOptions, LoggerConfig } from "moleculer";
import { AppErrorRegenerator } from "./domain/errors";
import type { Config } from "./lib/config";
import { currentRequest, RequestContextMiddleware } from "./lib/request-context";

/** Secrets never reach a log line, whatever object they are nested in. */
export const REDACTED_PATHS = [
	"password", "*.password", "*.*.password",
	"token", "*.token", "accessToken", "*.accessToken",
	"authorization", "*.authorization", "headers.authorization", "*.headers.authorization",
	"secret", "*.secret",
	"args[*].password", "args[*].token", "args[*].authorization", "args[*].headers.authorization",
];

function loggerOptions(config: Config, destination?: NodeJS.WritableStream): LoggerConfig | false {
	if (config.logLevel === "silent") return false;
	return {
		type: "Pino",
		options: {
			level: config.logLevel as "info",
			pino: {
				options: {
					// JSON lines: time, level, nodeID, svc (service), requestId and msg on every line.
					timestamp: () => `,"time":"${new Date().toISOString()}"`,
					formatters: { level: (label: string) => ({ level: label }) },
					mixin: () => {
						const req = currentRequest();
						return req ? { requestId: req.requestId } : {};
					},
					redact: { paths: REDACTED_PATHS, censor: "[REDACTED]" },
					hooks: {
						// Moleculer and its modules log console-style ("message", err, ...); keep those extra arguments
						// as fields instead of letting pino drop them.
						logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void) {
							if (args.length > 1 && typeof args[0] === "string") {
								const [msg, ...rest] = args;
								const err = rest.find(a => a instanceof Error);
								const extra = rest.filter(a => a !== err);
								return method.call(this, { ...(err ? { err } : {}), ...(extra.length ? { args: extra } : {}) }, msg);
							}
							return method.apply(this, args);
						},
					},
				},
				destination,
			},
		},
	};
}

/** Broker options for one node, all of them derived from the environment (lib/config.ts). */
export function buildBrokerOptions(config: Config, extras: { logDestination?: NodeJS.WritableStream } = {}): BrokerOptions {
	return {
		namespace: config.namespace,
		nodeID: config.nodeId ?? undefined,
		logger: loggerOptions(config, extras.logDestination),
		transporter: config.transporter ?? undefined,
		// One cache for every node of the cluster in Redis; a process-local one in the embedded default.
		cacher: config.redisUri
			? { type: "Redis", options: { redis: config.redisUri, ttl: 300, maxParamsLength: 100 } }
			: { type: "Memory", options: { ttl: 300, maxParamsLength: 100 } },
		serializer: "JSON",
		requestTimeout: config.requestTimeoutMs,
		// Only idempotent actions opt in to retries, per action.
		retryPolicy: { enabled: false },
		tracking: { enabled: true, shutdownTimeout: 10_000 },
		registry: { strategy: "RoundRobin", preferLocal: true },
		circuitBreaker: { enabled: false },
		errorRegenerator: new AppErrorRegenerator(),
		middlewares: [RequestContextMiddleware],
		validator: true,
	};
}
