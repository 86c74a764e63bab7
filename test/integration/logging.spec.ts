import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { loadConfig } from "../../lib/config";
import { createNode } from "../../lib/node";
import { client } from "../support/system";

describe("logs", () => {
	it("are JSON lines with time, level, node, service and request id, with secrets redacted", async () => {
		const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lottery-log-"));
		const config = loadConfig({ DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "debug", NODE_ID: "log-node", JWT_SECRET: "log-secret" });
		const out = new PassThrough();
		const lines: string[] = [];
		let buffer = "";
		out.on("data", chunk => {
			buffer += chunk.toString();
			const parts = buffer.split("\n");
			buffer = parts.pop() ?? "";
			lines.push(...parts.filter(Boolean));
		});
		const broker = createNode(config, { skipProcessEventRegistration: true }, { logDestination: out });
		await broker.start();
		try {
			const port = ((broker.getLocalService("api") as unknown as { server: Server }).server.address() as AddressInfo).port;
			const api = client(`http://127.0.0.1:${port}`);
			const reg = await api.request("POST", "/usercenter/v1/user/register", { mobile: "13700000001", password: "Sup3rSecretPw" }, undefined, { "X-Request-ID": "req-log-1" });
			const token = reg.body.data.accessToken as string;
			await api.request("POST", "/usercenter/v1/user/detail", {}, token, { "X-Request-ID": "req-log-2" });
			broker.getLocalService("users")!.logger.info({ password: "Sup3rSecretPw", headers: { authorization: `Bearer ${token}` }, accessToken: token }, "a careless line");
			broker.logger.warn("console-style", { password: "Sup3rSecretPw" });
			await new Promise(r => setTimeout(r, 50));

			const parsed = lines.map(l => JSON.parse(l));
			for (const p of parsed) {
				expect(typeof p.time).toBe("string");
				expect(typeof p.level).toBe("string");
				expect(p.nodeID).toBe("log-node");
			}
			const registered = parsed.find(p => p.msg === "user registered");
			expect(registered).toMatchObject({ svc: "users", requestId: "req-log-1", level: "info" });
			expect(parsed.find(p => p.msg === "http" && p.requestId === "req-log-2")).toMatchObject({ svc: "api", status: 200, path: "/usercenter/v1/user/detail" });
			const careless = parsed.find(p => p.msg === "a careless line");
			expect(careless).toMatchObject({ password: "[REDACTED]", accessToken: "[REDACTED]", headers: { authorization: "[REDACTED]" } });
			expect(parsed.find(p => p.msg === "console-style")).toMatchObject({ args: [{ password: "[REDACTED]" }] });

			const all = lines.join("\n");
			expect(all).not.toContain("Sup3rSecretPw");
			expect(all).not.toContain(token);
		} finally {
			await broker.stop();
			fs.rmSync(dataDir, { recursive: true, force: true });
		}
	});
});
