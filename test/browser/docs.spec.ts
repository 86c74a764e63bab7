import type { Page } from "playwright-core";
import { startSystem, type TestSystem } from "../support/system";
import { launchChromium, see, type BrowserHarness } from "./harness";

/** Swagger UI at /docs in Debian's Chromium: every route of the document is on the page, and it tries nothing off-site. */
describe("Swagger UI at /docs in a browser", () => {
	let sys: TestSystem;
	let chrome: BrowserHarness;

	beforeAll(async () => {
		sys = await startSystem();
		chrome = await launchChromium();
	}, 60_000);
	afterAll(async () => {
		await chrome?.close();
		await sys?.stop();
	});

	async function openDocs(page: Page, offsite: string[] = []): Promise<void> {
		page.on("request", req => {
			if (!req.url().startsWith(sys.baseUrl) && !req.url().startsWith("data:")) offsite.push(req.url());
		});
		await page.goto(`${sys.baseUrl}/docs`);
		await page.locator(".opblock").first().waitFor();
	}

	it("lists every operation of /openapi.json, and fetches nothing from elsewhere", () => chrome.run("docs lists every route", async page => {
		const doc = await fetch(`${sys.baseUrl}/openapi.json`).then(r => r.json()) as { paths: Record<string, Record<string, unknown>> };
		const expected = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map(m => `${m.toUpperCase()} ${p}`)).sort();
		const offsite: string[] = [];
		await openDocs(page, offsite);
		await page.waitForFunction(`document.querySelectorAll(".opblock").length >= ${expected.length}`);
		const shown = await page.$$eval(".opblock", blocks => blocks.map(b => {
			const method = b.querySelector(".opblock-summary-method")?.textContent?.trim() ?? "";
			const p = b.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? "";
			return `${method} ${p}`;
		}));
		expect(shown.sort()).toEqual(expected);
		await see(page.locator(".info .title"), "moleculer-lottery API");
		expect(offsite).toEqual([]);
	}), 60_000);

	it("shows an operation's request body from the action's rules", () => chrome.run("docs shows a request body", async page => {
		await openDocs(page);
		const block = page.locator(".opblock", { has: page.locator('[data-path="/usercenter/v1/user/register"]') });
		await block.locator(".opblock-summary").click();
		await see(block.locator(".opblock-body"), "13800138000");
	}), 60_000);
});
