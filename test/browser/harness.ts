import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";

/** Where a failing browser test leaves its screenshot. */
export const SCREENSHOT_DIR = path.resolve(__dirname, "../../test-results/browser");

/** How long one wait on the page may take: well inside the test's own timeout, so a failure still gets its screenshot. */
const WAIT_MS = 15_000;

export interface BrowserHarness {
	browser: Browser;
	/** Runs `body` on a page of a fresh context; on failure saves test-results/browser/<name>.png and rethrows. */
	run(name: string, body: (page: Page) => Promise<void>, opts?: { viewport?: { width: number; height: number } }): Promise<void>;
	close(): Promise<void>;
}

/** Debian's Chromium (never a downloaded one), headless. CHROMIUM_PATH points elsewhere. */
export async function launchChromium(): Promise<BrowserHarness> {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
		args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
	});
	return {
		browser,
		async run(name, body, opts = {}) {
			const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1024, height: 800 } });
			context.setDefaultTimeout(WAIT_MS);
			const page = await context.newPage();
			const pageErrors: string[] = [];
			page.on("pageerror", err => pageErrors.push(err.message));
			try {
				await body(page);
				if (pageErrors.length) throw new Error(`uncaught errors in the page: ${pageErrors.join("; ")}`);
			} catch (err) {
				fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
				const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^A-Za-z0-9._ -]+/g, "_").slice(0, 180)}.png`);
				await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
				if (err instanceof Error) err.message += `\n(screenshot: ${path.relative(process.cwd(), file)})`;
				throw err;
			} finally {
				await context.close();
			}
		},
		close: () => browser.close(),
	};
}

/** Waits until `locator` is visible and its text contains `text` (or matches it); fails showing what it holds instead. */
export async function see(locator: Locator, text: string | RegExp): Promise<void> {
	try {
		await locator.filter({ hasText: text }).first().waitFor({ state: "visible" });
	} catch (err) {
		const actual = await locator.allInnerTexts().catch(() => ["(unreadable)"]);
		throw new Error(`expected ${locator} to show ${String(text)}; it shows ${JSON.stringify(actual)}\n${(err as Error).message.split("\n")[0]}`);
	}
}

/** Waits until nothing matching `locator` is visible. */
export async function seeNot(locator: Locator): Promise<void> {
	await locator.first().waitFor({ state: "hidden" });
}
