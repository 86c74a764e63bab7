import os from "node:os";
import { ServiceBroker } from "moleculer";
import { buildBrokerOptions } from "../moleculer.config";
import { loadConfig } from "../lib/config";
import { createNode } from "../lib/node";

/**
 * `npm run repl`: the operator console. With TRANSPORTER set it joins the running cluster as a node of its own
 * (no services) and talks to it through actions only; without, it starts the whole embedded system in this
 * process. Moleculer's commands (nodes, services, actions, call, emit, metrics, …) plus ours below.
 * Our commands act as an operator (isAdmin) — whoever runs the console already holds the cluster's keys.
 */
const operator = { meta: { user: { id: 0, isAdmin: true } } };

type Args = Record<string, unknown> & { options: Record<string, unknown> };
type Command = { command: string; description: string; options?: Array<{ option: string; description: string }>; action(broker: ServiceBroker, args: Args): Promise<void> };

const print = (title: string, value: unknown) => console.log(`${title}\n${JSON.stringify(value, null, 2)}`);

async function attempt(fn: () => Promise<void>): Promise<void> {
	try {
		await fn();
	} catch (err) {
		const e = err as { message?: string; type?: string };
		console.log(`error: ${e.message}${e.type ? ` (${e.type})` : ""}`);
	}
}

export const COMMANDS: Command[] = [
	{
		command: "lottery <id>",
		description: "A lottery: state, participants, prizes and stock, draw status, commitment",
		async action(broker, args) {
			await attempt(async () => print(`lottery ${args.id}`, await broker.call("draw.status", { lotteryId: Number(args.id) })));
		},
	},
	{
		command: "draw <id>",
		description: "Draw a due lottery now",
		async action(broker, args) {
			await attempt(async () => print(`drawn ${args.id}`, await broker.call("draw.drawNow", { lotteryId: Number(args.id) }, operator)));
		},
	},
	{
		command: "pool <id>",
		description: "The instant prize pool beside the DB stock (--reconcile sets the pool to the DB's numbers)",
		options: [{ option: "--reconcile", description: "set the Redis pool to the database's stock" }],
		async action(broker, args) {
			await attempt(async () => {
				const lotteryId = Number(args.id);
				if (args.options.reconcile) print(`reconciled pool of ${lotteryId}`, await broker.call("draw.reconcilePool", { lotteryId }));
				print(`pool of ${lotteryId}`, await broker.call("draw.pool", { lotteryId }));
			});
		},
	},
	{
		command: "stats",
		description: "Users, lotteries by state, participations, draws and instant outcomes in the last hour",
		async action(broker) {
			await attempt(async () => {
				const [users, stats] = await Promise.all([broker.call<number>("users.count"), broker.call<Record<string, unknown>>("draw.stats")]);
				print("stats", { users, ...stats });
			});
		},
	},
	{
		command: "outbox",
		description: "Pending and failing domain events",
		async action(broker) {
			await attempt(async () => print("outbox", await broker.call("outbox.status")));
		},
	},
];

async function main(): Promise<void> {
	const config = loadConfig();
	const consoleOptions = { replDelimiter: "lottery $", replCommands: COMMANDS as never };
	const broker = config.transporter
		? new ServiceBroker({ ...buildBrokerOptions({ ...config, logLevel: process.env.LOG_LEVEL ? config.logLevel : "warn" }), nodeID: config.nodeId ?? `repl-${os.hostname()}-${process.pid}`, ...consoleOptions })
		: createNode(config, consoleOptions);
	await broker.start();
	if (config.transporter) await broker.waitForServices(["draw", "outbox", "users"], 15_000).catch(() => console.log("(some services are not up in the cluster yet)"));
	broker.repl();
}

if (require.main === module) void main();
