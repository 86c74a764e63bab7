import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import autocannon from "autocannon";
import mysqlp from "mysql2/promise";
import { issueToken } from "../domain/token";
import { freePort, freshDatabase, startNode, waitReady, writeReport } from "./report";

/**
 * Hot endpoints through the gateway in cluster mode (a gateway node + service nodes over the Redis transporter,
 * MySQL, Redis cacher), each next to the ceiling: a bare moleculer-web route calling a trivial action over the
 * same transporter, measured in the same run. Then the same with two service nodes. `npm run bench:throughput`.
 */
const SERVER = process.env.BENCH_MYSQL_URI ?? "mysql://root@127.0.0.1:3306";
const REDIS = process.env.BENCH_REDIS_URI ?? "redis://127.0.0.1:6379";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 50;
const SECRET = "bench-secret-bench-secret-bench-secret";
const USERS = 30_000;
// For quicker looks while tuning: BENCH_ONLY=participation,lotteryList and BENCH_SERVICE_NODES=1.
const ONLY = (process.env.BENCH_ONLY ?? "").split(",").filter(Boolean);
const NODE_COUNTS = (process.env.BENCH_SERVICE_NODES ?? "1,2").split(",").map(Number);

interface Run { name: string; rps: number; p50: number; p99: number; errors: number }

async function cannon(name: string, url: string, request: autocannon.Request): Promise<Run | null> {
	if (ONLY.length && !name.startsWith("ceiling") && !ONLY.some(o => name.startsWith(o))) return null;
	const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, requests: [request] });
	return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors };
}

function ceilingNodes(port: number, namespace: string): ChildProcess[] {
	const script = path.join(__dirname, "ceiling-node.ts");
	return ["worker", "gateway"].map(role => spawn(process.execPath, ["--import", "tsx", script, role], { env: { ...process.env, TRANSPORTER: REDIS, NAMESPACE: namespace, PORT: String(port) }, stdio: "ignore" }));
}

async function main(): Promise<void> {
	const uri = await freshDatabase(SERVER, "lt_bench_throughput");
	const conn = await mysqlp.createConnection(uri);
	const rows = Array.from({ length: USERS }, (_, i) => [null, "", `u${i}`, new Date(), new Date()]);
	for (let i = 0; i < rows.length; i += 5000) await conn.query("INSERT INTO `user` (mobile, password, nickname, create_time, update_time) VALUES ?", [rows.slice(i, i + 5000)]);
	const [idRows] = await conn.query<mysqlp.RowDataPacket[]>("SELECT id FROM `user` ORDER BY id");
	const ids = idRows.map(r => Number(r.id));
	const tokens = ids.map(id => issueToken(id, SECRET, 3600).accessToken);

	const report: string[] = [];
	const namespace = `tp${process.pid}`;
	const ceilingPort = await freePort();
	const ceiling = ceilingNodes(ceilingPort, namespace);

	for (const serviceNodes of NODE_COUNTS) {
		const ns = `${namespace}n${serviceNodes}`;
		const port = await freePort();
		const common = { DB_URI: uri, REDIS_URI: REDIS, TRANSPORTER: REDIS, NAMESPACE: ns, JWT_SECRET: SECRET, LOG_LEVEL: "error", LOGIN_LIMIT_IP: "100000000/60s", LOGIN_LIMIT_MOBILE: "100000000/60s", DB_POOL_MAX: "20" };
		const nodes = [
			...Array.from({ length: serviceNodes }, (_, i) => startNode({ ...common, SERVICES: "users,lottery,prize,draw,outbox,notice", NODE_ID: `${ns}-svc${i}` })),
			startNode({ ...common, SERVICES: "api", NODE_ID: `${ns}-api`, PORT: String(port) }),
		];
		const base = `http://127.0.0.1:${port}`;
		try {
			await waitReady(base);
			await waitReady(`http://127.0.0.1:${ceilingPort}`);
			const json = { "content-type": "application/json" };
			const mobile = `137${String(serviceNodes).padStart(8, "0")}`;
			await fetch(`${base}/usercenter/v1/user/register`, { method: "POST", headers: json, body: JSON.stringify({ mobile, password: "bench-pass" }) });
			const t = Math.floor(Date.now() / 1000);
			const created = await fetch(`${base}/lottery/v1/lottery/createLottery`, {
				method: "POST", headers: { ...json, authorization: `Bearer ${tokens[0]}` },
				body: JSON.stringify({ announceType: 1, announceTime: t + 86_400, awardDeadline: t + 172_800, prizes: [{ type: 1, name: "Bench", count: 10, level: 1, grantType: 1 }] }),
			}).then(r => r.json() as Promise<{ data: { id: number } }>);
			const lotteryId = created.data.id;
			let next = 1 + (serviceNodes - 1) * 14_000;

			const runs: Array<Run | null> = [];
			runs.push(await cannon("ceiling: bare moleculer-web route", `http://127.0.0.1:${ceilingPort}`, { method: "POST", path: "/ceiling", headers: json, body: "{}" }));
			runs.push(await cannon("lotteryList (cached)", base, { method: "POST", path: "/lottery/v1/lottery/lotteryList", headers: json, body: JSON.stringify({ lastId: 0, pageSize: 10 }) }));
			runs.push(await cannon("lotteryDetail (cached)", base, { method: "POST", path: "/lottery/v1/lottery/lotteryDetail", headers: json, body: JSON.stringify({ id: lotteryId }) }));
			runs.push(await cannon("user detail (token cached)", base, { method: "POST", path: "/usercenter/v1/user/detail", headers: { ...json, authorization: `Bearer ${tokens[1]}` }, body: "{}" }));
			runs.push(await cannon("participation (distinct users)", base, {
				method: "POST", path: "/lottery/v1/lottery/participation",
				setupRequest: req => ({ ...req, headers: { ...json, authorization: `Bearer ${tokens[next++ % tokens.length]}` }, body: JSON.stringify({ lotteryId }) }),
			}));
			runs.push(await cannon("login (argon2id)", base, { method: "POST", path: "/usercenter/v1/user/login", headers: json, body: JSON.stringify({ mobile, password: "bench-pass" }) }));

			const top = runs[0]!.rps;
			report.push(`### ${serviceNodes} service node${serviceNodes > 1 ? "s" : ""} + 1 gateway node`, "", "| endpoint | req/s | p50 ms | p99 ms | errors | of ceiling | goal |", "| --- | --- | --- | --- | --- | --- | --- |");
			for (const r of runs) {
				if (!r) continue;
				const share = r.rps / top;
				const goal = r.name.includes("cached") ? (share >= 0.7 ? "≥ 70% ✔" : "≥ 70% ✘") : r.name.startsWith("participation") ? (share >= 0.4 ? "≥ 40% ✔" : "≥ 40% ✘") : "";
				report.push(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${(share * 100).toFixed(0)}% | ${goal} |`);
			}
			report.push("");
		} finally {
			for (const n of nodes) n.kill("SIGTERM");
			await new Promise(r => setTimeout(r, 1500));
		}
	}
	for (const c of ceiling) c.kill("SIGTERM");
	await conn.end();
	const lines = [
		`${CONNECTIONS} connections, ${SECONDS} s per endpoint (autocannon), MySQL/MariaDB, Redis cacher and transporter, everything on this 2-core machine (the load generator included). The ceiling is a bare moleculer-web route calling a trivial action on a second process over the same transporter.`,
		"",
		...report,
	];
	if (!ONLY.length && NODE_COUNTS.length === 2) writeReport("throughput", "Hot endpoints through the gateway", lines);
	console.log(lines.join("\n"));
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
