import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import mysqlp from "mysql2/promise";
import { loadConfig } from "../lib/config";
import { createSequelize, migrate } from "../lib/database";
import os from "node:os";
import path from "node:path";

const FILE = path.resolve(__dirname, "../doc/benchmarks.md");

/** Replaces (or adds) one benchmark's section of doc/benchmarks.md, between its markers. */
export function writeReport(key: string, title: string, lines: string[]): void {
	const start = `<!-- bench:${key} -->`;
	const end = `<!-- /bench:${key} -->`;
	const cpu = os.cpus()[0]?.model ?? "unknown CPU";
	const section = [start, `## ${title}`, "", `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${cpu}, Node ${process.version}.`, "", ...lines, end].join("\n");
	let doc = fs.existsSync(FILE) ? fs.readFileSync(FILE, "utf8") : "# Benchmarks\n\nEach section is written by its script in `bench/`; run them with `npm run bench`.\n";
	const i = doc.indexOf(start);
	const j = doc.indexOf(end);
	doc = i >= 0 && j > i ? doc.slice(0, i) + section + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${section}\n`;
	fs.writeFileSync(FILE, doc);
}

/** Drops and recreates a benchmark database on `server` with the current schema; returns its URI. */
export async function freshDatabase(server: string, name: string): Promise<string> {
	const admin = await mysqlp.createConnection(server);
	await admin.query(`DROP DATABASE IF EXISTS ${name}`);
	await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
	await admin.end();
	const uri = `${server}/${name}`;
	const sequelize = createSequelize(loadConfig({ DB_URI: uri }));
	await migrate(sequelize);
	await sequelize.close();
	return uri;
}

/** A free TCP port on 127.0.0.1. */
export const freePort = () => new Promise<number>(resolve => {
	const srv = net.createServer().listen(0, "127.0.0.1", () => {
		const port = (srv.address() as net.AddressInfo).port;
		srv.close(() => resolve(port));
	});
});

/** A node process (server.ts) with the given environment. */
/** Extra Node.js flags for the node processes a benchmark starts, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
function nodeArgs(): string[] {
	return (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
}

export function startNode(env: Record<string, string>): ChildProcess {
	const child = spawn(process.execPath, [...nodeArgs(), "--import", "tsx", path.resolve(__dirname, "../server.ts")], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
	child.on("exit", code => { if (code) console.error(`node ${env.SERVICES} exited with ${code}`); });
	return child;
}

export async function waitReady(base: string): Promise<void> {
	for (let i = 0; i < 300; i++) {
		const ok = await fetch(`${base}/ready`).then(r => r.ok, () => false);
		if (ok) return;
		await new Promise(r => setTimeout(r, 200));
	}
	throw new Error("the gateway never became ready");
}

