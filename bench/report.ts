import fs from "node:fs";
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
