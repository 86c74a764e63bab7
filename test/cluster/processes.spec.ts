import type { ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import { createLottery, L, nowSec, prize } from "../support/lottery";
import { client, createMysqlDatabase, REDIS_URI, registerUser, type Client } from "../support/system";
import { freePort, spawnNode } from "../support/processes";
import { waitFor } from "../support/wait";
import type { Sequelize } from "sequelize";
import { loadConfig } from "../../lib/config";
import { createSequelize } from "../../lib/database";


interface NodeProc {
	name: string;
	env: Record<string, string>;
	metricsPort: number;
	proc: ChildProcess;
}

/**
 * Four node processes over real Redis and MySQL — a gateway, two lottery+draw replicas, and users+prize with the
 * outbox and notices — driven through the gateway, with one replica killed under load and started again.
 */
describe("a cluster of node processes", () => {
	jest.setTimeout(180_000);
	const namespace = `procs${crypto.randomBytes(4).toString("hex")}`;
	const nodes: Record<string, NodeProc> = {};
	let drop: () => Promise<void>;
	let db: Sequelize;
	let api: Client;

	function start(name: string, services: string, extra: Record<string, string> = {}): NodeProc {
		const node = nodes[name];
		node.proc = spawnNode(node.env);
		return node;
	}

	async function requestsOf(name: string, action: string): Promise<number> {
		const text = await (await fetch(`http://127.0.0.1:${nodes[name].metricsPort}/metrics`)).text();
		return text.split("\n")
			.filter(l => l.startsWith("moleculer_request_total{") && l.includes(`action="${action}"`))
			.reduce((sum, l) => sum + Number(l.trim().split(/\s+/).pop()), 0);
	}

	beforeAll(async () => {
		const m = await createMysqlDatabase("lt_procs");
		drop = m.drop;
		db = createSequelize(loadConfig({ DB_URI: m.uri }));
		const common = { DB_URI: m.uri, REDIS_URI, TRANSPORTER: REDIS_URI, NAMESPACE: namespace, JWT_SECRET: "procs-secret", LOG_LEVEL: "warn", DRAW_POLL_MS: "200", REQUEST_TIMEOUT: "3000", LOGIN_LIMIT_IP: "100000/60s" };
		const gatewayPort = await freePort();
		const defs: Array<[string, string]> = [["users", "users,prize,outbox,notice"], ["lottery-a", "lottery,draw"], ["lottery-b", "lottery,draw"], ["gateway", "api"]];
		for (const [name, services] of defs) {
			const metricsPort = await freePort();
			nodes[name] = { name, metricsPort, proc: null as never, env: { ...common, SERVICES: services, NODE_ID: `${namespace}-${name}`, METRICS_PORT: String(metricsPort), ...(name === "gateway" ? { PORT: String(gatewayPort) } : {}) } };
			start(name, services);
		}
		api = client(`http://127.0.0.1:${gatewayPort}`);
		await waitFor(() => fetch(`http://127.0.0.1:${gatewayPort}/ready`).then(r => r.ok, () => false), 90_000, "the gateway to see every service");
	});
	afterAll(async () => {
		for (const n of Object.values(nodes)) n.proc?.kill("SIGKILL");
		await db?.close();
		await new Promise(r => setTimeout(r, 300));
		await drop?.();
	});

	it("balances over the replicas, survives one being killed under load without half-written data, and takes it back", async () => {
		const owner = await registerUser(api);
		const people = await Promise.all(Array.from({ length: 40 }, () => registerUser(api)));
		// type 2 with a target far away: joins go through the exact counter on the lottery's row
		const lotteryId = await createLottery(api, owner.token, { announceType: 2, joinNumber: 10_000, announceTime: nowSec() + 3600, prizes: [prize(1, { count: 5 })] });

		// Warm-up: both replicas get calls.
		for (const p of people.slice(0, 10)) expect((await api.post(`${L}/participation`, { lotteryId }, p.token)).status).toBe(200);
		expect(await requestsOf("lottery-a", "lottery.participation")).toBeGreaterThan(0);
		expect(await requestsOf("lottery-b", "lottery.participation")).toBeGreaterThan(0);

		// Load, and in the middle of it replica b dies without a goodbye.
		const load = people.slice(10).map((p, i) => new Promise<{ id: number; status: number; code: number }>(resolve => setTimeout(async () => {
			const res = await api.post(`${L}/participation`, { lotteryId }, p.token).catch(() => ({ status: 0, body: { code: 0 } }));
			resolve({ id: p.id, status: res.status, code: res.body?.code ?? 0 });
		}, i * 40)));
		setTimeout(() => nodes["lottery-b"].proc.kill("SIGKILL"), 300);
		const results = await Promise.all(load);

		// Each client saw success or a clear, retryable error — never a connection cut or a 500.
		for (const r of results) {
			if (r.status === 200) continue;
			expect([503, 504]).toContain(r.status);
			expect([100011, 100013]).toContain(r.code);
		}
		expect(results.filter(r => r.status === 200).length).toBeGreaterThan(0);
		// Nothing half-written: every success has its row, and the counter matches the rows exactly.
		const [rows] = await db.query("SELECT user_id AS userId FROM lottery_participation WHERE lottery_id = ?", { replacements: [lotteryId] });
		const joined = new Set((rows as Array<{ userId: number }>).map(r => Number(r.userId)));
		for (const r of results.filter(r => r.status === 200)) expect(joined.has(r.id)).toBe(true);
		const [[count]] = (await db.query("SELECT participant_count AS n FROM lottery WHERE id = ?", { replacements: [lotteryId] })) as unknown as [[{ n: number }]];
		expect(Number(count.n)).toBe(joined.size);

		// The ones that failed retry, as a client would, until the cluster has noticed the loss (heartbeats), and
		// then get in — or learn that their first attempt had in fact been applied.
		for (const r of results.filter(r => r.status !== 200)) {
			const p = people.find(x => x.id === r.id)!;
			let status = 0;
			await waitFor(async () => {
				status = (await api.post(`${L}/participation`, { lotteryId }, p.token)).status;
				return status === 200 || status === 409;
			}, 60_000, "a retried participation to get through");
		}
		const [after] = await db.query("SELECT COUNT(*) AS n FROM lottery_participation WHERE lottery_id = ?", { replacements: [lotteryId] });
		expect(Number((after as Array<{ n: number }>)[0].n)).toBe(people.length);

		// Replica b comes back and gets work again.
		start("lottery-b", "lottery,draw");
		await waitFor(() => fetch(`http://127.0.0.1:${nodes["lottery-b"].metricsPort}/metrics`).then(r => r.ok, () => false), 60_000, "replica b to be back");
		const more = await Promise.all(Array.from({ length: 8 }, () => registerUser(api)));
		// The gateway learns of the returning node through its heartbeat: retry until the cluster has converged.
		let second = 0;
		await waitFor(async () => {
			second = await createLottery(api, owner.token, { announceTime: nowSec() + 3600 }).catch(() => 0);
			return second > 0;
		}, 60_000, "a lottery to be created once the cluster settled");
		await waitFor(async () => {
			for (const p of more.splice(0, 1)) await api.post(`${L}/participation`, { lotteryId: second }, p.token);
			return (await requestsOf("lottery-b", "lottery.participation")) > 0;
		}, 30_000, "the restarted replica to serve again");
	});

	it("draws each lottery exactly once with two draw nodes", async () => {
		const owner = await registerUser(api);
		const people = await Promise.all(Array.from({ length: 6 }, () => registerUser(api)));
		const ids: number[] = [];
		for (let i = 0; i < 4; i++) {
			let id = 0;
			await waitFor(async () => (id = await createLottery(api, owner.token, { announceTime: nowSec() + 3, prizes: [prize(1, { count: 2 })] }).catch(() => 0)) > 0, 30_000, "a lottery to be created");
			ids.push(id);
		}
		for (const id of ids) for (const p of people) await api.post(`${L}/participation`, { lotteryId: id }, p.token);
		await waitFor(async () => {
			const [rows] = await db.query(`SELECT COUNT(*) AS n FROM lottery WHERE state = 2 AND id IN (${ids.join(",")})`);
			return Number((rows as Array<{ n: number }>)[0].n) === ids.length;
		}, 20_000, "every lottery to be drawn");
		await new Promise(r => setTimeout(r, 1000));
		for (const id of ids) {
			const [drawn] = await db.query("SELECT COUNT(*) AS n FROM outbox WHERE type = 'lottery.drawn' AND aggregate_id = ?", { replacements: [String(id)] });
			expect(Number((drawn as Array<{ n: number }>)[0].n)).toBe(1);
			const [won] = await db.query("SELECT COUNT(*) AS n FROM lottery_participation WHERE lottery_id = ? AND is_won = 1", { replacements: [id] });
			expect(Number((won as Array<{ n: number }>)[0].n)).toBe(2);
		}
	});
});
