import crypto from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import type { ServiceBroker } from "moleculer";
import { loadConfig } from "../../lib/config";
import { createNode } from "../../lib/node";
import { createMysqlDatabase, REDIS_URI } from "../support/system";
import { waitFor } from "../support/wait";

/** One request followed across nodes by its id, in each node's own log. */
describe("request ids across nodes", () => {
	it("reach the log lines of every node the request passes through", async () => {
		const db = await createMysqlDatabase("lt_trace");
		const namespace = `tr${crypto.randomBytes(4).toString("hex")}`;
		const logs: Record<string, Array<Record<string, unknown>>> = { api: [], users: [] };
		const brokers: ServiceBroker[] = [];
		try {
			for (const role of ["users", "api"] as const) {
				const out = new PassThrough();
				out.on("data", chunk => chunk.toString().split("\n").filter(Boolean).forEach((l: string) => logs[role].push(JSON.parse(l))));
				const config = loadConfig({ DB_URI: db.uri, REDIS_URI, TRANSPORTER: REDIS_URI, NAMESPACE: namespace, SERVICES: role, NODE_ID: `${namespace}-${role}`, PORT: "0", LOG_LEVEL: "info", JWT_SECRET: "trace-secret" });
				brokers.push(createNode(config, { skipProcessEventRegistration: true }, { logDestination: out }));
			}
			await Promise.all(brokers.map(b => b.start()));
			await brokers[1].waitForServices("users");
			const port = ((brokers[1].getLocalService("api") as unknown as { server: Server }).server.address() as AddressInfo).port;
			const res = await fetch(`http://127.0.0.1:${port}/usercenter/v1/user/register`, { method: "POST", headers: { "Content-Type": "application/json", "X-Request-ID": "trace-across-1" }, body: JSON.stringify({ mobile: "13412345678", password: "secret123" }) });
			expect(res.status).toBe(200);
			await waitFor(() => logs.api.some(l => l.requestId === "trace-across-1" && l.msg === "http"), 5000, "the gateway's line");
			expect(logs.users.find(l => l.msg === "user registered")).toMatchObject({ requestId: "trace-across-1", nodeID: `${namespace}-users`, svc: "users" });
			expect(logs.api.find(l => l.requestId === "trace-across-1" && l.msg === "http")).toMatchObject({ nodeID: `${namespace}-api`, svc: "api", status: 200 });
		} finally {
			await Promise.all(brokers.map(b => b.stop()));
			await db.drop();
		}
	});
});
