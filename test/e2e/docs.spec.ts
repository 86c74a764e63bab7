import fs from "node:fs";
import { OPENAPI_FILE } from "../../lib/node";
import { startSystem, type TestSystem } from "../support/system";

describe(`API documentation through the gateway (${process.env.TEST_BACKEND})`, () => {
	let sys: TestSystem;
	beforeAll(async () => {
		sys = await startSystem();
	});
	afterAll(() => sys?.stop());

	it("serves the generated OpenAPI document (doc/openapi.json) at /openapi.json", async () => {
		const res = await fetch(`${sys.baseUrl}/openapi.json`);
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^application\/json/);
		expect(await res.json()).toEqual(JSON.parse(fs.readFileSync(OPENAPI_FILE, "utf8")));
	});

	it("serves the web console from public/, with a policy that keeps it to this origin", async () => {
		const res = await fetch(`${sys.baseUrl}/`);
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
		expect(await res.text()).toContain("Lottery console");
		const script = await fetch(`${sys.baseUrl}/proof.js`);
		expect(script.status).toBe(200);
		expect(script.headers.get("content-type")).toMatch(/javascript/);
		// Nothing outside public/ is reachable through it.
		expect((await fetch(`${sys.baseUrl}/..%2Fpackage.json`)).status).toBe(404);
	});

	it("serves Swagger UI at /docs from its own files, with nothing from elsewhere", async () => {
		const page = await fetch(`${sys.baseUrl}/docs`).then(r => r.text());
		const refs = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map(m => m[1]);
		expect(refs.length).toBeGreaterThanOrEqual(3);
		for (const ref of refs) {
			expect(ref).toMatch(/^\/docs\//);
			const asset = await fetch(`${sys.baseUrl}${ref}`);
			expect(asset.status).toBe(200);
			expect(Number(asset.headers.get("content-length") ?? (await asset.arrayBuffer()).byteLength)).toBeGreaterThan(0);
		}
		expect(page).toContain('url: "/openapi.json"');
		expect((await fetch(`${sys.baseUrl}/docs/index.js`)).status).toBe(404);
		expect((await fetch(`${sys.baseUrl}/docs/..%2F..%2Fpackage.json`)).status).toBe(404);
	});
});
