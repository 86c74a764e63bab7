import { execFileSync, type ChildProcess } from "node:child_process";
import mysql from "mysql2/promise";
import crypto from "node:crypto";
import path from "node:path";
import { createLottery, L, nowSec, prize } from "../support/lottery";
import { client, createMysqlDatabase, REDIS_URI, registerUser } from "../support/system";
import { freePort, spawnNode } from "../support/processes";
import { waitFor } from "../support/wait";

const root = path.resolve(__dirname, "../..");

/** The operator console, driven through a pseudo-terminal (tmux) against a cluster node in another process. */
describe("the operator REPL", () => {
	jest.setTimeout(120_000);
	const session = `lottery-repl-${process.pid}`;
	let node: ChildProcess;
	let drop: () => Promise<void>;
	let dbUri: string;
	let base: string;
	const namespace = `repl${crypto.randomBytes(4).toString("hex")}`;
	const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
	const screen = () => tmux("capture-pane", "-t", session, "-p", "-S", "-200");

	async function type(command: string, expect: RegExp | string): Promise<string> {
		tmux("send-keys", "-t", session, "clear", "Enter");
		await new Promise(r => setTimeout(r, 200));
		tmux("clear-history", "-t", session);
		tmux("send-keys", "-t", session, command, "Enter");
		let text = "";
		await waitFor(() => {
			text = screen();
			return typeof expect === "string" ? text.includes(expect) : expect.test(text);
		}, 20_000, `'${command}' to print ${expect}`);
		return text;
	}

	beforeAll(async () => {
		const db = await createMysqlDatabase("lt_repl");
		drop = db.drop;
		dbUri = db.uri;
		const port = await freePort();
		const env = { ...process.env, DB_URI: db.uri, REDIS_URI, TRANSPORTER: REDIS_URI, NAMESPACE: namespace, PORT: String(port), LOG_LEVEL: "warn", JWT_SECRET: "repl-secret", DRAW_POLL_MS: "60000" };
		node = spawnNode(env as Record<string, string>);
		base = `http://127.0.0.1:${port}`;
		await waitFor(() => fetch(`${base}/ready`).then(r => r.ok, () => false), 60_000, "the cluster node");
		const replEnv = `TRANSPORTER=${REDIS_URI} REDIS_URI=${REDIS_URI} NAMESPACE=${namespace}`;
		tmux("new-session", "-d", "-s", session, "-x", "220", "-y", "60", `cd ${root} && env ${replEnv} npm run --silent repl`);
		await waitFor(() => screen().includes("lottery $"), 60_000, "the REPL prompt");
	});
	afterAll(async () => {
		try {
			tmux("kill-session", "-t", session);
		} catch {
			/* already gone */
		}
		node?.kill("SIGTERM");
		await new Promise(r => setTimeout(r, 500));
		await drop?.();
	});

	it("shows a lottery, draws it when due, shows pools, stats and the outbox, and has Moleculer's own commands", async () => {
		const api = client(base);
		const owner = await registerUser(api);
		const people = await Promise.all([registerUser(api), registerUser(api)]);
		const id = await createLottery(api, owner.token, { name: "Console test", prizes: [prize(1, { name: "Kettle" })] });
		for (const p of people) await api.post(`${L}/participation`, { lotteryId: id }, p.token);

		let out = await type(`lottery ${id}`, /"participants": 2/);
		expect(out).toContain('"state": "open"');
		expect(out).toContain('"name": "Kettle"');
		expect(out).toMatch(/"seedCommitment": "[0-9a-f]{64}"/);

		out = await type(`draw ${id}`, /LOTTERY_NOT_DUE/);
		// Make it due: its time has come. The node's own poll is an hour away, so the console is what draws it.
		const conn = await mysql.createConnection(dbUri);
		await conn.query("UPDATE lottery SET announce_time = ? WHERE id = ?", [nowSec() - 1, id]);
		await conn.end();
		out = await type(`draw ${id}`, /"winnerCount": 1/);
		out = await type(`lottery ${id}`, /"state": "announced"/);
		expect(out).toContain('"winners": 1');

		const instant = await createLottery(api, owner.token, { announceType: 3, announceTime: 0, prizes: [prize(1, { count: 2, probability: 10_000 })] });
		await api.post(`${L}/instantParticipation`, { lotteryId: instant }, people[0].token);
		out = await type(`pool ${instant}`, /"consistent": true/);
		out = await type(`pool ${instant} --reconcile`, /reconciled pool/);

		out = await type("stats", /"participations": \d+/);
		expect(out).toMatch(/"users": [3-9]/);
		expect(out).toMatch(/"drawsLastHour": 1/);
		out = await type("outbox", /"pending": \d+/);
		out = await type("nodes", /repl-|Node ID/i);
	});
});
