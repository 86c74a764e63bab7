import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { startSystem, type TestSystem } from "../support/system";

/** Swagger UI at /docs in Debian's Chromium: every route of the document is on the page, and it tries nothing off-site. */
describe("Swagger UI at /docs in a browser", () => {
	let sys: TestSystem;
	let browser: Browser;
	let page: Page;
	const offsite: string[] = [];

	beforeAll(async () => {
		sys = await startSystem();
		browser = await chromium.launch({
			executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
			args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
		});
		page = await browser.newPage();
		page.on("request", req => {
			if (!req.url().startsWith(sys.baseUrl) && !req.url().startsWith("data:")) offsite.push(req.url());
		});
	}, 60_000);
	afterAll(async () => {
		await browser?.close();
		await sys?.stop();
	});

	async function shot<T>(name: string, body: () => Promise<T>): Promise<T> {
		try {
			return await body();
		} catch (err) {
			const dir = path.resolve(__dirname, "../../test-results/browser");
			fs.mkdirSync(dir, { recursive: true });
			await page?.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true }).catch(() => undefined);
			throw err;
		}
	}

	it("lists every operation of /openapi.json, and fetches nothing from elsewhere", () => shot("docs-every-route", async () => {
		const doc = await fetch(`${sys.baseUrl}/openapi.json`).then(r => r.json()) as { paths: Record<string, Record<string, unknown>> };
		const expected = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map(m => `${m.toUpperCase()} ${p}`)).sort();
		await page.goto(`${sys.baseUrl}/docs`);
		await page.locator(".opblock").first().waitFor({ timeout: 20_000 });
		await page.waitForFunction(`document.querySelectorAll(".opblock").length >= ${expected.length}`, undefined, { timeout: 20_000 });
		const shown = await page.$$eval(".opblock", blocks => blocks.map(b => {
			const method = b.querySelector(".opblock-summary-method")?.textContent?.trim() ?? "";
			const p = b.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? b.querySelector(".opblock-summary-path")?.textContent?.trim() ?? "";
			return `${method} ${p.replace(/\u200b/g, "")}`;
		}));
		expect(shown.sort()).toEqual(expected);
		expect(await page.locator(".info .title").innerText()).toContain("moleculer-lottery API");
		expect(offsite).toEqual([]);
	}));

	it("shows an operation's request body from the action's rules", () => shot("docs-request-body", async () => {
		const block = page.locator(".opblock", { has: page.locator('[data-path="/usercenter/v1/user/register"]') });
		await block.locator(".opblock-summary").click();
		await block.locator(".opblock-body").waitFor();
		await expect(block.locator(".opblock-body").innerText()).resolves.toContain("13800138000");
	}));
});
