import fs from "node:fs";
import { loadConfig } from "../lib/config";
import { createSequelize } from "../lib/database";
import { DrawEngine } from "../lib/draw-engine";
import { defineModels } from "../models";

/** A draw node doing one draw: prints {ms, winners, peakRssMb} as JSON. Run by bench/draw-1m.ts. */
async function main(): Promise<void> {
	const lotteryId = Number(process.argv[2]);
	const db = createSequelize(loadConfig());
	const engine = new DrawEngine(db, defineModels(db), { owner: `bench-${process.pid}`, leaseMs: 120_000 });
	// A running draw node has its pool connected already: do that before the clock starts.
	await db.query("SELECT 1");
	const started = process.hrtime.bigint();
	const outcome = await engine.draw(lotteryId);
	const ms = Number(process.hrtime.bigint() - started) / 1e6;
	const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
	console.log(JSON.stringify({ ms, winners: outcome?.winners.length ?? -1, participants: outcome?.participantCount ?? -1, peakRssMb: hwm ? Number(hwm[1]) / 1024 : null }));
	await db.close();
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
