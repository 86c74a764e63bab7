import autocannon from "autocannon";
import Redis from "ioredis";
import mysqlp from "mysql2/promise";
import { issueToken } from "../domain/token";
import { freePort, freshDatabase, startNode, waitReady, writeReport } from "./report";

/**
 * Instant lottery under load, cluster mode through the gateway: a gateway node and a service node (two
 * processes, Redis transporter, MySQL, Redis pool). 20,000 distinct users, 200 connections, stock 100 over 3
 * prizes. Checks: exactly 100 winners, DB stock = Redis pool = 0, one participation per user. Reports
 * draws/s next to raw single-row INSERTs into the same MySQL in the same run. `npm run bench:instant`.
 */
const SERVER = process.env.BENCH_MYSQL_URI ?? "mysql://root@127.0.0.1:3306";
const REDIS = process.env.BENCH_REDIS_URI ?? "redis://127.0.0.1:6379";
const DB = "lt_bench_instant";
const USERS = Number(process.env.BENCH_USERS ?? 20_000);
const CONNECTIONS = 200;
const SECRET = "bench-secret-bench-secret-bench-secret";

async function rawInserts(uri: string): Promise<number> {
	const pool = mysqlp.createPool({ uri, connectionLimit: 50 });
	await pool.query("CREATE TABLE bench_insert (id BIGINT AUTO_INCREMENT PRIMARY KEY, lottery_id BIGINT NOT NULL, user_id BIGINT NOT NULL, create_time DATETIME NOT NULL, UNIQUE KEY uk (lottery_id, user_id)) ENGINE=InnoDB");
	let next = 0;
	const started = process.hrtime.bigint();
	await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
		while (next < USERS) {
			const i = next++;
			await pool.query("INSERT INTO bench_insert (lottery_id, user_id, create_time) VALUES (1, ?, NOW())", [i]);
		}
	}));
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	await pool.end();
	return USERS / seconds;
}

async function main(): Promise<void> {
	const uri = await freshDatabase(SERVER, DB);

	const conn = await mysqlp.createConnection(uri);
	const users = Array.from({ length: USERS + 1 }, (_, i) => [null, "", `bench${i}`, new Date(), new Date()]);
	for (let i = 0; i < users.length; i += 5000) await conn.query("INSERT INTO `user` (mobile, password, nickname, create_time, update_time) VALUES ?", [users.slice(i, i + 5000)]);
	const [idRows] = await conn.query<mysqlp.RowDataPacket[]>("SELECT id FROM `user` ORDER BY id");
	const ids = idRows.map(r => Number(r.id));
	const owner = ids[0];
	const tokens = ids.slice(1).map(id => issueToken(id, SECRET, 3600).accessToken);

	const namespace = `bench${process.pid}`;
	const port = await freePort();
	const common = { DB_URI: uri, REDIS_URI: REDIS, TRANSPORTER: REDIS, NAMESPACE: namespace, JWT_SECRET: SECRET, LOG_LEVEL: "warn", DB_POOL_MAX: "20" };
	const nodes = [
		startNode({ ...common, SERVICES: "users,lottery,prize,draw,notice", NODE_ID: `${namespace}-services` }),
		startNode({ ...common, SERVICES: "api", NODE_ID: `${namespace}-api`, PORT: String(port) }),
	];
	const base = `http://127.0.0.1:${port}`;
	try {
		await waitReady(base);
		const t = Math.floor(Date.now() / 1000);
		const created = await fetch(`${base}/lottery/v1/lottery/createLottery`, {
			method: "POST",
			headers: { "Content-Type": "application/json", Authorization: `Bearer ${issueToken(owner, SECRET, 3600).accessToken}` },
			body: JSON.stringify({
				announceType: 3, announceTime: 0, awardDeadline: t + 86400, publishType: 1,
				prizes: [
					{ type: 1, name: "Gold", count: 20, level: 1, grantType: 1, probability: 1000 },
					{ type: 1, name: "Silver", count: 30, level: 2, grantType: 1, probability: 2000 },
					{ type: 1, name: "Bronze", count: 50, level: 3, grantType: 1, probability: 3000 },
				],
			}),
		}).then(r => r.json() as Promise<{ data: { id: number } }>);
		const lotteryId = created.data.id;
		const body = JSON.stringify({ lotteryId });

		let n = 0;
		let winners = 0;
		const result = await autocannon({
			url: base,
			connections: CONNECTIONS,
			amount: USERS,
			requests: [{
				method: "POST",
				path: "/lottery/v1/lottery/instantParticipation",
				setupRequest: req => ({ ...req, headers: { "content-type": "application/json", authorization: `Bearer ${tokens[n++ % tokens.length]}` }, body }),
				onResponse: (status, resBody) => {
					if (status === 200 && JSON.parse(resBody).data.prizeId > 0) winners++;
				},
			}],
		});

		const [[part]] = await conn.query<mysqlp.RowDataPacket[]>("SELECT COUNT(*) AS n, COUNT(DISTINCT user_id) AS users, SUM(is_won) AS won FROM lottery_participation WHERE lottery_id = ?", [lotteryId]);
		const [[stock]] = await conn.query<mysqlp.RowDataPacket[]>("SELECT SUM(stock) AS left_ FROM lottery_prize WHERE lottery_id = ?", [lotteryId]);
		const redis = new Redis(REDIS);
		const pool = await redis.hgetall(`${namespace}:pool:${lotteryId}`);
		await redis.quit();
		const poolLeft = Object.values(pool).reduce((s, v) => s + Number(v), 0);
		const rawPerSec = await rawInserts(uri);
		const drawsPerSec = result.requests.average;
		const non2xx = result.non2xx;

		const checks = [
			[`winners in the database`, Number(part.won), 100],
			[`winners answered to clients`, winners, 100],
			[`participation rows`, Number(part.n), USERS],
			[`distinct users among them`, Number(part.users), USERS],
			[`DB stock left`, Number(stock.left_), 0],
			[`Redis pool left`, poolLeft, 0],
			[`non-2xx answers`, non2xx, 0],
		] as const;
		const lines = [
			`${USERS.toLocaleString("en")} distinct users, ${CONNECTIONS} connections (autocannon), one gateway node and one service node over the Redis transporter, MySQL/MariaDB, Redis prize pool; stock 100 over 3 prizes.`,
			"",
			"| check | result | expected |",
			"| --- | --- | --- |",
			...checks.map(([name, got, want]) => `| ${name} | ${got} | ${want} ${got === want ? "✔" : "✘"} |`),
			"",
			"| throughput | per second |",
			"| --- | --- |",
			`| instant draws through the gateway | ${drawsPerSec.toFixed(0)} (p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms) |`,
			`| raw single-row INSERTs into the same MySQL, ${CONNECTIONS} in flight (baseline) | ${rawPerSec.toFixed(0)} |`,
			`| ratio | ${(drawsPerSec / rawPerSec).toFixed(2)} |`,
			"",
			"Each instant draw is an HTTP request, a token check (a new token goes to users.resolveTokens with the others of that moment; the gateway keeps it for a minute), the lottery from cache (lottery.get), a Redis Lua take when the roll lands on a prize, and one transaction (shared lock on the lottery row, participation insert, stock update for winners, log insert); the hash chain is linked by a batch chainer outside the request. The baseline is one INSERT per request. During the run the service node's one Node.js thread is the bottleneck (~80% of a core on this 2-core machine, next to MariaDB, Redis, the gateway and the load generator).",
		];
		writeReport("instant", "Instant lottery under load", lines);
		console.log(lines.join("\n"));
	} finally {
		for (const node of nodes) node.kill("SIGTERM");
		await conn.end();
	}
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
