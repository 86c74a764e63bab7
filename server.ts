import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "./lib/config";
import { markDraining } from "./lib/lifecycle";
import { createNode } from "./lib/node";

/**
 * One node of the cluster, or the whole system in one process when no TRANSPORTER is set.
 * SIGTERM/SIGINT: stop taking work (/ready → 503), wait SHUTDOWN_GRACE ms for load balancers to notice,
 * then stop the broker, which waits for in-flight requests (request tracking) before leaving the cluster.
 */
async function main(): Promise<void> {
	const config = loadConfig();
	const broker = createNode(config, { skipProcessEventRegistration: true });

	let stopping = false;
	const shutdown = async (signal: string) => {
		if (stopping) return;
		stopping = true;
		broker.logger.info({ signal }, "shutting down");
		markDraining(broker);
		if (config.shutdownGraceMs) await sleep(config.shutdownGraceMs);
		try {
			await broker.stop();
			process.exit(0);
		} catch (err) {
			broker.logger.error({ err }, "shutdown failed");
			process.exit(1);
		}
	};
	process.on("SIGTERM", () => void shutdown("SIGTERM"));
	process.on("SIGINT", () => void shutdown("SIGINT"));

	await broker.start();
	const mode = config.transporter ? `cluster node over ${config.transporter.replace(/\/\/[^@]*@/, "//***@")}` : "embedded (all services, one process)";
	broker.logger.info({ services: config.services ?? "all", db: config.dbUri ? "mysql" : "sqlite", mode }, "lottery node started");
}

main().catch(err => {
	// eslint-disable-next-line no-console
	console.error(err instanceof Error ? err.message : err);
	process.exit(1);
});
