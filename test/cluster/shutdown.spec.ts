import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, spawnNode } from "../support/processes";
import { waitFor } from "../support/wait";


/** An embedded node process on a fresh data folder, with one registered user. */
async function busyNode(grace: number, mobile: string) {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lottery-shutdown-"));
	const port = await freePort();
	const base = `http://127.0.0.1:${port}`;
	const node = spawnNode({ DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "warn", SHUTDOWN_GRACE: String(grace), LOGIN_LIMIT_IP: "100000/60s", LOGIN_LIMIT_MOBILE: "100000/60s" });
	const exited = new Promise<number | null>(resolve => node.on("exit", code => resolve(code)));
	await waitFor(() => fetch(`${base}/ready`).then(r => r.ok, () => false), 60_000, "the node");
	const json = { "Content-Type": "application/json" };
	await fetch(`${base}/usercenter/v1/user/register`, { method: "POST", headers: json, body: JSON.stringify({ mobile, password: "secret123" }) });
	const login = () => fetch(`${base}/usercenter/v1/user/login`, { method: "POST", headers: json, body: JSON.stringify({ mobile, password: "secret123" }) }).then(r => r.status, () => 0);
	const cleanup = () => {
		node.kill("SIGKILL");
		fs.rmSync(dataDir, { recursive: true, force: true });
	};
	return { node, base, exited, login, cleanup };
}

/** A node process told to stop while it is busy. */
describe("graceful shutdown", () => {
	jest.setTimeout(90_000);

	it("on SIGTERM reports not ready at once, finishes every accepted request, then exits cleanly", async () => {
		const { node, base, exited, login, cleanup } = await busyNode(1500, "13500000001");
		try {
			// Forty logins (argon2: tens of ms of CPU each) are in flight when the signal comes.
			const inFlight = Array.from({ length: 40 }, login);
			await new Promise(r => setTimeout(r, 50));
			node.kill("SIGTERM");

			// Draining: not ready for new traffic, still alive and still serving.
			await waitFor(() => fetch(`${base}/ready`).then(r => r.status === 503, () => false), 1000, "/ready to answer 503");
			expect((await fetch(`${base}/live`)).status).toBe(200);
			expect(await login()).toBe(200);

			const statuses = await Promise.all(inFlight);
			expect(statuses.every(s => s === 200)).toBe(true);
			expect(await exited).toBe(0);
			await expect(fetch(`${base}/live`)).rejects.toThrow();
		} finally {
			cleanup();
		}
	});

	it("with no grace period still lets the requests in flight finish before the broker leaves", async () => {
		const { node, exited, login, cleanup } = await busyNode(0, "13500000002");
		try {
			const inFlight = Array.from({ length: 40 }, login);
			await new Promise(r => setTimeout(r, 50));
			node.kill("SIGTERM");
			const statuses = await Promise.all(inFlight);
			// every request the node had accepted was answered, none cut off half-way
			expect(statuses.filter(s => s !== 200)).toEqual([]);
			expect(await exited).toBe(0);
		} finally {
			cleanup();
		}
	});
});
