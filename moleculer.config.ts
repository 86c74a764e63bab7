import { PipelinedRedisTransporter, redisOptions, TieredCacher } from "./lib/redis";
import pino from "pino";
import type { BrokerOptions, LoggerConfig, Middleware } from "moleculer";
import { KafkaLogShipper } from "./lib/log-shipper";
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

function pinoOptions(): pino.LoggerOptions {
	return {
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
				return method.apply(this, args as never);
			},
		},
	};
}

function loggerOptions(config: Config, destination?: pino.DestinationStream): LoggerConfig | false {
	if (config.logLevel === "silent") return false;
	// Our own pino root, handed to Moleculer through createLogger: Moleculer deep-merges its logger options,
	// which would copy (and so disconnect) a destination stream given to it as an option.
	const root = destination ? pino(pinoOptions(), destination) : pino(pinoOptions());
	return {
		type: "Pino",
		options: {
			level: config.logLevel as "info",
			createLogger: (level: string, bindings: Record<string, unknown>) => root.child(bindings, { level }),
		},
	};
}

/** Broker options for one node, all of them derived from the environment (lib/config.ts). */
export function buildBrokerOptions(config: Config, extras: { logDestination?: NodeJS.WritableStream } = {}): BrokerOptions {
	// LOG_KAFKA_BROKERS: every line to stdout as usual, and to Kafka through a bounded, never-blocking shipper.
	const shipper = config.logKafkaBrokers && config.logLevel !== "silent"
		? new KafkaLogShipper(config.logKafkaBrokers, config.logKafkaTopic, config.logKafkaBuffer, `${config.namespace || "lottery"}-${config.nodeId ?? "node"}-logs`)
		: null;
	const destination = shipper
		? pino.multistream([{ stream: extras.logDestination ?? process.stdout, level: "trace" }, { stream: shipper, level: "trace" }])
		: (extras.logDestination as pino.DestinationStream | undefined);
	const shipperLifecycle: Middleware = { stopped: () => shipper?.close() };
	return {
		namespace: config.namespace,
		nodeID: config.nodeId ?? undefined,
		logger: loggerOptions(config, destination),
		// A Redis transporter publishes auto-pipelined (lib/redis.ts); any other URI goes to Moleculer as it is.
		transporter: config.transporter && /^rediss?:\/\//.test(config.transporter) ? new PipelinedRedisTransporter(config.transporter) : config.transporter ?? undefined,
		// One cache for every node of the cluster in Redis; a process-local one in the embedded default.
		// With CACHE_LOCAL_TTL_MS > 0, each node keeps what it read for that long in front of Redis (lib/redis.ts).
		cacher: config.redisUri
			? config.cacheLocalTtlMs > 0
				? new TieredCacher({ redis: redisOptions(config.redisUri), ttl: 300, maxParamsLength: 100 }, config.cacheLocalTtlMs)
				: { type: "Redis", options: { redis: redisOptions(config.redisUri), ttl: 300, maxParamsLength: 100 } }
			: { type: "Memory", options: { ttl: 300, maxParamsLength: 100 } },
		serializer: "JSON",
		requestTimeout: config.requestTimeoutMs,
		// Only idempotent actions opt in to retries, per action.
		retryPolicy: { enabled: false },
		tracking: { enabled: true, shutdownTimeout: 10_000 },
		registry: { strategy: "RoundRobin", preferLocal: true },
		circuitBreaker: { enabled: false },
		// METRICS_PORT: Moleculer's metrics and ours (lib/metrics.ts) in Prometheus' format, one endpoint per node.
		metrics: config.metricsPort === null
			? { enabled: false }
			: { enabled: true, reporter: { type: "Prometheus", options: { port: config.metricsPort, host: config.host, path: "/metrics" } } },
		errorRegenerator: new AppErrorRegenerator(),
		middlewares: shipper ? [RequestContextMiddleware, shipperLifecycle] : [RequestContextMiddleware],
		validator: true,
	};
}
