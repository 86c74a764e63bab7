import { ServiceBroker } from "moleculer";
import ApiGateway from "moleculer-web";
import { PipelinedRedisTransporter } from "../lib/redis";

/**
 * The ceiling of bench/throughput.ts: a bare moleculer-web gateway calling one trivial action, over the same
 * Redis transporter, with no database, no auth and no cache — what any route of ours can at best approach.
 */
async function main(): Promise<void> {
	// Two processes, like our gateway and service node: `gateway` or `worker`.
	const role = process.argv[2];
	// The same transporter as our nodes (lib/redis.ts), so the ceiling is what the framework can do here.
	const transporter = new PipelinedRedisTransporter(process.env.TRANSPORTER ?? "redis://127.0.0.1:6379");
	const namespace = `${process.env.NAMESPACE ?? "bench"}-ceiling`;
	const broker = new ServiceBroker({ namespace, nodeID: `ceiling-${role}`, transporter, logger: false });
	if (role === "worker") {
		broker.createService({ name: "ping", actions: { pong: () => ({ code: 200, msg: "OK", data: { pong: true } }) } });
	} else {
		broker.createService({
			name: "api",
			mixins: [ApiGateway],
			settings: { port: Number(process.env.PORT), ip: "127.0.0.1", routes: [{ path: "/", aliases: { "POST ceiling": "ping.pong", "GET ready": "ping.pong" }, mappingPolicy: "restrict" }] },
		} as never);
	}
	await broker.start();
	if (role !== "worker") await broker.waitForServices("ping");
}

void main();
