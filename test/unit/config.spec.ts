import fs from "node:fs";
import path from "node:path";
import { DEFAULT_JWT_SECRET, ENV_VARS, loadConfig, parseRateLimit } from "../../lib/config";

const root = path.resolve(__dirname, "../..");

describe("configuration", () => {
	it("defaults to the embedded system on 127.0.0.1:3000", () => {
		const c = loadConfig({});
		expect(c).toMatchObject({ port: 3000, host: "127.0.0.1", dbUri: null, redisUri: null, transporter: null, services: null, jwtSecret: DEFAULT_JWT_SECRET });
		expect(c.dataDir).toBe(path.resolve("data"));
		expect(c.loginLimitPerMobile).toEqual({ limit: 10, windowMs: 60_000 });
	});

	it("refuses to start in production without a real JWT secret", () => {
		expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/JWT_SECRET/);
		expect(() => loadConfig({ NODE_ENV: "production", JWT_SECRET: "short" })).toThrow(/JWT_SECRET/);
		expect(() => loadConfig({ NODE_ENV: "production", JWT_SECRET: DEFAULT_JWT_SECRET })).toThrow(/JWT_SECRET/);
		expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) }).jwtSecret).toBe("x".repeat(32));
	});

	it("names what is wrong with a bad value", () => {
		expect(() => loadConfig({ SERVICES: "users,lotery" })).toThrow(/unknown services: lotery/);
		expect(() => loadConfig({ PORT: "eighty" })).toThrow(/PORT/);
		expect(() => loadConfig({ JWT_EXPIRE: "5" })).toThrow(/JWT_EXPIRE/);
		expect(() => loadConfig({ LOGIN_LIMIT_IP: "lots" })).toThrow(/LOGIN_LIMIT_IP/);
		expect(() => loadConfig({ DB_URI: "postgres://x" })).not.toThrow(); // checked when the DB is opened
	});

	it("parses SERVICES and rate limits", () => {
		expect(loadConfig({ SERVICES: " api , users " }).services).toEqual(["api", "users"]);
		expect(parseRateLimit("X", "5/2m")).toEqual({ limit: 5, windowMs: 120_000 });
		expect(parseRateLimit("X", "1/500ms")).toEqual({ limit: 1, windowMs: 500 });
		expect(() => parseRateLimit("X", "0/1s")).toThrow();
	});

	it("is documented variable by variable in the README table and .env.example", () => {
		const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
		const example = fs.readFileSync(path.join(root, ".env.example"), "utf8");
		for (const name of ENV_VARS) {
			expect(readme).toContain(`| \`${name}\` |`);
			expect(example).toMatch(new RegExp(`^${name}=`, "m"));
		}
		// and nothing is read that is not in the list
		const sources = ["lib/config.ts"].map(f => fs.readFileSync(path.join(root, f), "utf8")).join("\n");
		const read = new Set([...sources.matchAll(/env(?:\.|, ")([A-Z_]{3,})/g)].map(m => m[1]));
		for (const name of read) expect(ENV_VARS).toContain(name);
	});
});
