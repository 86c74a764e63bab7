import { execFileSync } from "node:child_process";
import path from "node:path";
import mysql from "mysql2";
import mysqlp from "mysql2/promise";
import { newSeed, seedCommitment } from "../domain/draw";
import { freshDatabase, writeReport } from "./report";

/**
 * Draw a lottery of 1,000,000 participants and 100 prizes on MySQL, next to a raw streamed SELECT of the same
 * participations with mysql2 in the same run. Goal: draw < 5 s, < 2× the raw SELECT, draw node peak RSS < 300 MB.
 * `npm run bench:draw` (BENCH_MYSQL_URI, default mysql://root@127.0.0.1:3306; BENCH_PARTICIPANTS to scale).
 */
const SERVER = process.env.BENCH_MYSQL_URI ?? "mysql://root@127.0.0.1:3306";
const DB = "lt_bench_draw";
const N = Number(process.env.BENCH_PARTICIPANTS ?? 1_000_000);
const PRIZES = 100;
const RUNS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function rawStreamedSelect(uri: string, lotteryId: number): Promise<number> {
	const conn = mysql.createConnection(uri);
	const started = process.hrtime.bigint();
	let rows = 0;
	await new Promise<void>((resolve, reject) => {
		conn.query("SELECT user_id FROM lottery_participation WHERE lottery_id = ? ORDER BY user_id", [lotteryId])
			.stream()
			.on("data", () => rows++)
			.on("end", () => resolve())
			.on("error", reject);
	});
	const ms = Number(process.hrtime.bigint() - started) / 1e6;
	conn.end();
	if (rows !== N) throw new Error(`raw select saw ${rows} rows`);
	return ms;
}

async function main(): Promise<void> {
	const uri = await freshDatabase(SERVER, DB);

	const conn = await mysqlp.createConnection(uri);
	const now = Math.floor(Date.now() / 1000);
	const seed = newSeed();
	const [res] = await conn.query<mysqlp.ResultSetHeader>(
		"INSERT INTO lottery (user_id, name, state, publish_time, announce_type, announce_time, award_deadline, participant_count, seed, seed_commitment, create_time, update_time) VALUES (1, 'bench', 1, ?, 1, ?, ?, ?, ?, ?, NOW(), NOW())",
		[now - 60, now - 1, now + 86400, N, seed, seedCommitment(seed)],
	);
	const lotteryId = res.insertId;
	const prizeRows = Array.from({ length: PRIZES }, (_, i) => [lotteryId, 1, `prize ${i + 1}`, i + 1, "", 1, 1, 1, new Date(), new Date()]);
	await conn.query("INSERT INTO lottery_prize (lottery_id, type, name, level, thumb, count, grant_type, stock, create_time, update_time) VALUES ?", [prizeRows]);
	const loadStarted = Date.now();
	for (let from = 0; from < N; from += 20_000) {
		const rows = [];
		for (let i = from; i < Math.min(N, from + 20_000); i++) rows.push([lotteryId, 1_000_000 + i * 3, new Date(), new Date()]);
		await conn.query("INSERT INTO lottery_participation (lottery_id, user_id, create_time, update_time) VALUES ?", [rows]);
	}
	console.log(`loaded ${N} participations in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s`);

	const raw: number[] = [];
	const draws: Array<{ ms: number; peakRssMb: number; winners: number }> = [];
	for (let run = 0; run < RUNS; run++) {
		raw.push(await rawStreamedSelect(uri, lotteryId));
		const out = execFileSync(process.execPath, ["--import", "tsx", path.join(__dirname, "draw-worker.ts"), String(lotteryId)], { env: { ...process.env, DB_URI: uri }, encoding: "utf8" });
		const result = JSON.parse(out.trim().split("\n").pop()!);
		if (result.winners !== PRIZES) throw new Error(`draw gave ${result.winners} winners`);
		draws.push(result);
		// undo the draw for the next run
		await conn.query("UPDATE lottery_participation SET is_won = 0, prize_id = 0 WHERE lottery_id = ? AND is_won = 1", [lotteryId]);
		await conn.query("UPDATE lottery SET state = 1, draw_owner = NULL, draw_lease_until = NULL WHERE id = ?", [lotteryId]);
		await conn.query("UPDATE lottery_prize SET stock = count WHERE lottery_id = ?", [lotteryId]);
		console.log(`run ${run + 1}: raw SELECT ${raw[run].toFixed(0)} ms, draw ${result.ms.toFixed(0)} ms, draw node peak RSS ${result.peakRssMb.toFixed(0)} MB`);
	}
	await conn.end();

	const rawMs = median(raw);
	const drawMs = median(draws.map(d => d.ms));
	const rss = Math.max(...draws.map(d => d.peakRssMb));
	const ratio = drawMs / rawMs;
	const lines = [
		`${N.toLocaleString("en")} participants, ${PRIZES} prizes, MySQL/MariaDB on this machine; median of ${RUNS} runs, each next to its own raw SELECT.`,
		"",
		"| measure | result | goal |",
		"| --- | --- | --- |",
		`| raw streamed \`SELECT user_id\` (mysql2) | ${rawMs.toFixed(0)} ms | baseline |`,
		`| full draw (claim, read + hash the list, draw, write winners in one transaction) | ${drawMs.toFixed(0)} ms | < 5000 ms ${drawMs < 5000 ? "✔" : "✘"} |`,
		`| draw / raw SELECT | ${ratio.toFixed(2)}× | < 2× ${ratio < 2 ? "✔" : "✘"} |`,
		`| draw node peak RSS (VmHWM) | ${rss.toFixed(0)} MB | < 300 MB ${rss < 300 ? "✔" : "✘"} |`,
		"",
		`Runs: ${draws.map((d, i) => `raw ${raw[i].toFixed(0)} ms / draw ${d.ms.toFixed(0)} ms / ${d.peakRssMb.toFixed(0)} MB`).join("; ")}.`,
	];
	writeReport("draw", "Scheduled draw of a million participants", lines);
	console.log(lines.join("\n"));
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
