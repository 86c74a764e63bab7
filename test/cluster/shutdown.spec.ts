import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { waitFor } from "../support/wait";

const root = path.resolve(__dirname, "../..");
const freePort = () => new Promise<number>(resolve => {
	const srv = net.createServer().listen(0, "127.0.0.1", () => {
		const port = (srv.address() as net.AddressInfo).port;
		srv.close(() => resolve(port));
	});
});

/** A node process told to stop while it is busy. */
describe("graceful shutdown", () => {
	jest.setTimeout(90_000);

	it("on SIGTERM reports not ready at once, finishes every accepted request, then exits cleanly", async () => {
		const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lottery-shutdown-"));
		const port = await freePort();
		const base = `http://127.0.0.1:${port}`;
		const node: ChildProcess = spawn(process.execPath, ["--import", "tsx", path.join(root, "server.ts")], {
			env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "warn", SHUTDOWN_GRACE: "1500", LOGIN_LIMIT_IP: "100000/60s", LOGIN_LIMIT_MOBILE: "100000/60s" },
			stdio: "ignore",
		});
		const exited = new Promise<number | null>(resolve => node.on("exit", code => resolve(code)));
		try {
			await waitFor(() => fetch(`${base}/ready`).then(r => r.ok, () => false), 60_000, "the node");
			await fetch(`${base}/usercenter/v1/user/register`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ mobile: "13500000001", password: "secret123" }) });

			// Forty logins (argon2: tens of ms of CPU each) are in flight when the signal comes.
			const login = () => fetch(`${base}/usercenter/v1/user/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ mobile: "13500000001", password: "secret123" }) }).then(r => r.status);
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
			node.kill("SIGKILL");
			fs.rmSync(dataDir, { recursive: true, force: true });
		}
	});

	it("with no grace period still lets the requests in flight finish before the broker leaves", async () => {
		const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lottery-shutdown-"));
		const port = await freePort();
		const base = `http://127.0.0.1:${port}`;
		const node: ChildProcess = spawn(process.execPath, ["--import", "tsx", path.join(root, "server.ts")], {
			env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: "warn", SHUTDOWN_GRACE: "0", LOGIN_LIMIT_IP: "100000/60s", LOGIN_LIMIT_MOBILE: "100000/60s" },
			stdio: "ignore",
		});
		const exited = new Promise<number | null>(resolve => node.on("exit", code => resolve(code)));
		try {
			await waitFor(() => fetch(`${base}/ready`).then(r => r.ok, () => false), 60_000, "the node");
			await fetch(`${base}/usercenter/v1/user/register`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ mobile: "13500000002", password: "secret123" }) });
			const login = () => fetch(`${base}/usercenter/v1/user/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ mobile: "13500000002", password: "secret123" }) }).then(r => r.status, () => 0);
			const inFlight = Array.from({ length: 40 }, login);
			await new Promise(r => setTimeout(r, 50));
			node.kill("SIGTERM");
			const statuses = await Promise.all(inFlight);
			// every request the node had accepted was answered, none cut off half-way
			expect(statuses.filter(s => s !== 200)).toEqual([]);
			expect(await exited).toBe(0);
		} finally {
			node.kill("SIGKILL");
			fs.rmSync(dataDir, { recursive: true, force: true });
		}
	});
});
