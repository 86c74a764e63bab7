import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import mysql from "mysql2/promise";
import type { ServiceBroker } from "moleculer";
import { Sequelize } from "sequelize";
import { loadConfig, type Config } from "../../lib/config";
import { createNode } from "../../lib/node";
import { createSequelize } from "../../lib/database";

export type Backend = "embedded" | "cluster";

export const backend = (): Backend => (process.env.TEST_BACKEND === "cluster" ? "cluster" : "embedded");

export const MYSQL_URI = process.env.TEST_MYSQL_URI ?? "mysql://root@127.0.0.1:3306";
export const REDIS_URI = process.env.TEST_REDIS_URI ?? "redis://127.0.0.1:6379";

/** A throw-away MySQL database, dropped by the returned function. */
export async function createMysqlDatabase(prefix = "lt_test"): Promise<{ uri: string; drop: () => Promise<void> }> {
	const name = `${prefix}_${process.pid}_${crypto.randomBytes(4).toString("hex")}`;
	const admin = await mysql.createConnection(MYSQL_URI);
	await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
	await admin.end();
	return {
		uri: `${MYSQL_URI}/${name}`,
		drop: async () => {
			const c = await mysql.createConnection(MYSQL_URI);
			await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
			await c.end();
		},
	};
}

export interface TestSystem {
	backend: Backend;
	baseUrl: string;
	/** The gateway's broker (in embedded mode, the only one). */
	gateway: ServiceBroker;
	brokers: ServiceBroker[];
	config: Config;
	/** A direct connection to the system's database, for assertions on what was (not) written. */
	db: Sequelize;
	stop(): Promise<void>;
}

export interface SystemOptions {
	env?: Record<string, string>;
	/** Cluster mode: how many nodes run the users service (default 1). */
	usersNodes?: number;
	/** Cluster mode: how many nodes run the draw service (default 1). */
	drawNodes?: number;
}

/**
 * The whole system as the chosen backend runs it: embedded = one broker with every service on a fresh
 * SQLite file; cluster = a gateway broker and users broker(s) talking over the Redis transporter in a
 * namespace of their own, with the Redis cacher and a fresh MySQL database.
 */
export async function startSystem(opts: SystemOptions = {}): Promise<TestSystem> {
	const mode = backend();
	const base = { PORT: "0", LOG_LEVEL: "silent", JWT_SECRET: "test-secret", LOGIN_LIMIT_MOBILE: "1000/60s", LOGIN_LIMIT_IP: "10000/60s", ...opts.env };
	const brokers: ServiceBroker[] = [];
	const cleanups: Array<() => Promise<void>> = [];

	let config: Config;
	if (mode === "embedded") {
		const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lottery-test-"));
		cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
		config = loadConfig({ ...base, DATA_DIR: dataDir });
		brokers.push(createNode(config, { logger: false, skipProcessEventRegistration: true }));
	} else {
		const db = await createMysqlDatabase();
		cleanups.push(db.drop);
		const namespace = `t${crypto.randomBytes(5).toString("hex")}`;
		const shared = { ...base, DB_URI: db.uri, REDIS_URI, TRANSPORTER: REDIS_URI, NAMESPACE: namespace };
		for (let i = 0; i < (opts.usersNodes ?? 1); i++) {
			const c = loadConfig({ ...shared, SERVICES: "users", NODE_ID: `${namespace}-users-${i}` });
			brokers.push(createNode(c, { logger: false, skipProcessEventRegistration: true }));
		}
		const lotteryNode = loadConfig({ ...shared, SERVICES: "lottery,prize,outbox,notice", NODE_ID: `${namespace}-lottery` });
		brokers.push(createNode(lotteryNode, { logger: false, skipProcessEventRegistration: true }));
		for (let i = 0; i < (opts.drawNodes ?? 1); i++) {
			const c = loadConfig({ ...shared, SERVICES: "draw", NODE_ID: `${namespace}-draw-${i}` });
			brokers.push(createNode(c, { logger: false, skipProcessEventRegistration: true }));
		}
		config = loadConfig({ ...shared, SERVICES: "api", NODE_ID: `${namespace}-api` });
		brokers.push(createNode(config, { logger: false, skipProcessEventRegistration: true }));
	}

	const gateway = brokers[brokers.length - 1];
	await Promise.all(brokers.map(b => b.start()));
	await gateway.waitForServices(["users", "lottery", "prize", "draw", "outbox", "notice"], 15_000);
	const server = (gateway.getLocalService("api") as unknown as { server: Server }).server;
	const port = (server.address() as AddressInfo).port;
	const db = createSequelize(config);

	return {
		backend: mode,
		baseUrl: `http://127.0.0.1:${port}`,
		gateway,
		brokers,
		config,
		db,
		async stop() {
			await db.close();
			await Promise.all(brokers.map(b => b.stop()));
			for (const c of cleanups.reverse()) await c();
		},
	};
}

export interface HttpResult<T = any> {
	status: number;
	body: T;
	headers: Headers;
}

/** A go-lottery client: JSON in, JSON envelope out. */
export function client(baseUrl: string) {
	async function request<T = any>(method: string, p: string, body?: unknown, token?: string, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
		const res = await fetch(baseUrl + p, {
			method,
			headers: {
				...(body !== undefined ? { "Content-Type": "application/json" } : {}),
				...(token ? { Authorization: `Bearer ${token}` } : {}),
				...headers,
			},
			body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
		});
		const text = await res.text();
		let parsed: unknown = text;
		try {
			parsed = JSON.parse(text);
		} catch {
			/* not JSON: the assertion will show it */
		}
		return { status: res.status, body: parsed as T, headers: res.headers };
	}
	return {
		request,
		post: <T = any>(p: string, body: unknown = {}, token?: string) => request<T>("POST", p, body, token),
		put: <T = any>(p: string, body: unknown = {}, token?: string) => request<T>("PUT", p, body, token),
		get: <T = any>(p: string, token?: string) => request<T>("GET", p, undefined, token),
	};
}

export type Client = ReturnType<typeof client>;

let mobileSeq = 0;
/** A fresh 11-digit mobile number per call. */
export const newMobile = (): string => `139${String(process.pid % 10000).padStart(4, "0")}${String(++mobileSeq).padStart(4, "0")}`;

/** Registers a user and returns its token and id. */
export async function registerUser(api: Client, mobile = newMobile(), password = "secret123"): Promise<{ token: string; id: number; mobile: string }> {
	const reg = await api.post("/usercenter/v1/user/register", { mobile, password });
	if (reg.status !== 200) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
	const token = reg.body.data.accessToken as string;
	const detail = await api.post("/usercenter/v1/user/detail", {}, token);
	return { token, id: detail.body.data.userInfo.id, mobile };
}

/** Row count of a table, straight from the database. */
export async function countRows(db: Sequelize, table: string): Promise<number> {
	const [rows] = await db.query(`SELECT COUNT(*) AS n FROM \`${table}\``);
	return Number((rows as Array<{ n: number }>)[0].n);
}
