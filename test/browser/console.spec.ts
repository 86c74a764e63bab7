import crypto from "node:crypto";
import type { Page } from "playwright-core";
import { drawWinners } from "../../domain/draw";
import { L, lotteryBody, prize } from "../support/lottery";
import { client, newMobile, registerUser, startSystem, type Client, type TestSystem } from "../support/system";
import { waitFor } from "../support/wait";
import { launchChromium, see, seeNot, type BrowserHarness } from "./harness";

/**
 * The web console (public/) in Debian's Chromium, against the real gateway of an embedded system: accounts,
 * creating, browsing, joining, instant lotteries, winners, and the draw proof recomputed in the page.
 */
describe("web console in a browser", () => {
	let sys: TestSystem;
	let api: Client;
	let chrome: BrowserHarness;

	beforeAll(async () => {
		sys = await startSystem({ env: { DRAW_POLL_MS: "200" } });
		api = client(sys.baseUrl);
		chrome = await launchChromium();
	}, 60_000);
	afterAll(async () => {
		await chrome?.close();
		await sys?.stop();
	});

	const PASSWORD = "secret123";

	async function openConsole(page: Page): Promise<void> {
		await page.goto(`${sys.baseUrl}/`);
		await page.locator("body[data-ready=true]").waitFor({ state: "attached" });
	}

	const status = (page: Page) => page.locator("#status");
	const whoami = (page: Page) => page.locator("#whoami");
	/** The value of one fact (a <dd>) of the open lottery. */
	const fact = (page: Page, term: string) => page.locator(`xpath=//dl[@id="detail-facts"]/dt[normalize-space()="${term}"]/following-sibling::dd[1]`);

	async function signUp(page: Page, mobile: string, password = PASSWORD): Promise<void> {
		await page.getByLabel("Mobile number").fill(mobile);
		await page.getByLabel("Password").fill(password);
		await page.getByRole("button", { name: "Create account", exact: true }).click();
		await see(whoami(page), `Signed in as ${mobile}`);
	}

	async function signIn(page: Page, mobile: string, password = PASSWORD): Promise<void> {
		await page.getByLabel("Mobile number").fill(mobile);
		await page.getByLabel("Password").fill(password);
		await page.getByRole("button", { name: "Sign in", exact: true }).click();
		await see(whoami(page), `Signed in as ${mobile}`);
	}

	async function signOut(page: Page): Promise<void> {
		await page.getByRole("button", { name: "Sign out" }).click();
		await see(whoami(page), "Not signed in");
	}

	async function openByNumber(page: Page, id: number): Promise<void> {
		await page.getByLabel("Lottery number").fill(String(id));
		await page.getByRole("button", { name: "Open", exact: true }).click();
		await see(fact(page, "Number"), new RegExp(`^${id}$`));
	}

	const session = (page: Page) => page.evaluate<string | null>("localStorage.getItem('lotteryConsole.session')");
	const scrollWidth = (page: Page) => page.evaluate<number>("document.documentElement.scrollWidth");

	/** A type-2 lottery (two prizes) that three users joined through the API, once the draw service drew it. */
	async function drawnLottery(): Promise<{ id: number; players: Array<{ id: number; mobile: string }> }> {
		const owner = await registerUser(api);
		const players = await Promise.all([1, 2, 3].map(() => registerUser(api)));
		const created = await api.post(`${L}/createLottery`, lotteryBody({
			name: "Drawn in the browser", announceType: 2, joinNumber: 3,
			prizes: [prize(1, { name: "Gold" }), prize(2, { name: "Silver" })],
		}), owner.token);
		expect(created.status).toBe(200);
		const id = created.body.data.id as number;
		for (const p of players) expect((await api.post(`${L}/participation`, { lotteryId: id }, p.token)).status).toBe(200);
		await waitFor(async () => (await api.post(`${L}/drawProof`, { lotteryId: id })).status === 200, 10_000, `lottery ${id} to be drawn`);
		return { id, players };
	}

	let drawn: Promise<{ id: number; players: Array<{ id: number; mobile: string }> }> | null = null;
	const sharedDrawn = () => (drawn ??= drawnLottery());

	const masked = (mobile: string) => `${mobile.slice(0, 3)}****${mobile.slice(-4)}`;

	// --- accounts -------------------------------------------------------------------------------------------

	chromeTest("signs up, keeps the session across a reload, signs out and signs in again", async page => {
		const mobile = newMobile();
		await openConsole(page);
		await see(whoami(page), "Not signed in");
		await signUp(page, mobile);
		await see(status(page), `Account created. Signed in as ${mobile}.`);
		expect(JSON.parse((await session(page))!)).toMatchObject({ mobile, accessToken: expect.any(String) });

		await page.reload();
		await see(whoami(page), `Signed in as ${mobile}`);
		await page.getByRole("heading", { name: "Create a lottery" }).waitFor();
		await page.getByRole("button", { name: "Create lottery" }).waitFor();

		await signOut(page);
		expect(await session(page)).toBeNull();
		await seeNot(page.getByRole("button", { name: "Create lottery" }));

		await signIn(page, mobile);
		await see(status(page), `Signed in as ${mobile}.`);
		expect(await session(page)).not.toBeNull();
	});

	chromeTest("shows the server's message when the password is wrong or the number is taken", async page => {
		const user = await registerUser(api);
		await openConsole(page);
		await page.getByLabel("Mobile number").fill(user.mobile);
		await page.getByLabel("Password").fill("not-the-password");
		await page.getByRole("button", { name: "Sign in", exact: true }).click();
		await see(status(page), "wrong mobile number or password");
		expect(await status(page).getAttribute("data-kind")).toBe("error");
		await see(whoami(page), "Not signed in");
		expect(await session(page)).toBeNull();

		await page.getByLabel("Password").fill(PASSWORD);
		await page.getByRole("button", { name: "Create account", exact: true }).click();
		await see(status(page), "this mobile number is already registered");
		await see(whoami(page), "Not signed in");
	});

	chromeTest("signs in and out with the keyboard alone, with a visible focus", async page => {
		const user = await registerUser(api);
		await openConsole(page);
		const focused = () => page.evaluate<string>("document.activeElement ? document.activeElement.id : ''");
		for (let i = 0; i < 20 && (await focused()) !== "auth-mobile"; i++) await page.keyboard.press("Tab");
		expect(await focused()).toBe("auth-mobile");
		const outline = await page.evaluate<string>("getComputedStyle(document.activeElement).outlineStyle");
		expect(outline).not.toBe("none");

		await page.keyboard.type(user.mobile);
		await page.keyboard.press("Tab");
		expect(await focused()).toBe("auth-password");
		await page.keyboard.type(PASSWORD);
		await page.keyboard.press("Enter");
		await see(whoami(page), `Signed in as ${user.mobile}`);

		await page.keyboard.press("Tab");
		expect(await focused()).toBe("sign-out");
		await page.keyboard.press("Enter");
		await see(whoami(page), "Not signed in");
		expect(await focused()).toBe("auth-mobile");
	});

	// --- lotteries ------------------------------------------------------------------------------------------

	chromeTest("creates a lottery with two prizes through the form, finds it in the list, and a second user joins it", async page => {
		const name = `Form lottery ${crypto.randomBytes(3).toString("hex")}`;
		await openConsole(page);
		await signUp(page, newMobile());

		const form = page.locator("#create-form");
		await form.getByLabel("Name", { exact: true }).fill(name);
		await form.getByLabel("Description").fill("Two prizes, drawn tomorrow");
		await form.getByLabel("How winners are drawn").selectOption({ label: "At a set time" });
		const prizes = form.locator("#c-prizes > li");
		await prizes.nth(0).getByLabel("Prize name").fill("Phone");
		await form.getByRole("button", { name: "Add a prize" }).click();
		await see(prizes.nth(1).locator("legend"), "Prize 2");
		await prizes.nth(1).getByLabel("Prize name").fill("Headphones");
		await prizes.nth(1).getByLabel("How many").fill("2");
		await prizes.nth(1).getByLabel("Kind").selectOption({ label: "Coupon" });
		await prizes.nth(1).getByLabel("Delivery").selectOption({ label: "Arranged by contact with the winner" });
		await form.getByRole("button", { name: "Create lottery" }).click();

		await see(status(page), /Lottery \d+ .* created\./);
		const id = Number(/Lottery (\d+)/.exec(await status(page).innerText())![1]);
		await see(page.locator("#detail-title"), name);
		await see(fact(page, "State"), "open");
		await see(fact(page, "How it is drawn"), "At a set time");
		await see(page.locator("#detail-prizes tbody tr").nth(1), /2\s*Headphones \(Coupon\)\s*2/);

		// What the server stored is what the form said.
		const detail = (await api.post(`${L}/lotteryDetail`, { id })).body.data;
		expect(detail).toMatchObject({ name, introduce: "Two prizes, drawn tomorrow", announceType: 1, state: "open" });
		expect(detail.announceTime).toBeGreaterThan(Date.now() / 1000 + 3600);
		expect(detail.awardDeadline).toBeGreaterThan(detail.announceTime);
		expect(detail.prizes.map((p: any) => [p.level, p.name, p.count, p.type, p.grantType])).toEqual([[1, "Phone", 1, 1, 1], [2, "Headphones", 2, 2, 2]]);

		// Browse: the new lottery is at the top of the open lotteries.
		await page.getByRole("button", { name: "Refresh", exact: true }).first().click();
		await page.locator("#lottery-list").getByRole("button", { name }).waitFor();

		// Someone else finds it in the list and joins.
		await signOut(page);
		const joiner = newMobile();
		await signUp(page, joiner);
		await page.locator("#lottery-list").getByRole("button", { name }).click();
		await see(fact(page, "You"), "You have not joined");
		await see(fact(page, "Participants"), /^0$/);
		await page.getByRole("button", { name: "Join this lottery" }).click();
		await see(status(page), `You joined "${name}".`);
		await see(fact(page, "You"), "You joined");
		await see(fact(page, "Participants"), /^1$/);
		await seeNot(page.getByRole("button", { name: "Join this lottery" }));
		const joined = (await api.post(`${L}/participations`, { lotteryId: id })).body.data;
		expect(joined.count).toBe(1);
		expect(joined.list[0].mobile).toBe(masked(joiner));

		// Joining twice is refused by the server, and the page says why.
		await page.evaluate(`fetch("/lottery/v1/lottery/participation", { method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + JSON.parse(localStorage.getItem("lotteryConsole.session")).accessToken }, body: JSON.stringify({ lotteryId: ${id} }) }).then(r => r.status)`)
			.then(s => expect(s).toBe(409));
	});

	chromeTest("pages through the open lotteries", async page => {
		const owner = await registerUser(api);
		const tag = crypto.randomBytes(3).toString("hex");
		const names: string[] = [];
		for (let i = 0; i < 12; i++) {
			names.push(`Page ${tag} #${i}`);
			const res = await api.post(`${L}/createLottery`, lotteryBody({ name: names[i] }), owner.token);
			expect(res.status).toBe(200);
		}
		await openConsole(page);
		const list = page.locator("#lottery-list");
		// Newest first, ten a page: #11 … #2 now, #1 and #0 after "Load more".
		await list.getByRole("button", { name: names[2], exact: true }).waitFor();
		expect(await list.getByRole("button").count()).toBe(10);
		await seeNot(list.getByRole("button", { name: names[1], exact: true }));
		await page.getByRole("button", { name: "Load more" }).click();
		await list.getByRole("button", { name: names[0], exact: true }).waitFor();
		await list.getByRole("button", { name: names[1], exact: true }).waitFor();
		expect(await list.getByRole("button").count()).toBeGreaterThanOrEqual(12);
	});

	chromeTest("keeps a lottery as a draft, finds it under its creator's lotteries, and publishes it", async page => {
		const name = `Draft ${crypto.randomBytes(3).toString("hex")}`;
		await openConsole(page);
		await signUp(page, newMobile());
		const form = page.locator("#create-form");
		await form.getByLabel("How winners are drawn").selectOption({ label: "When enough people joined" });
		await form.getByLabel("Draw when this many people joined").fill("5");
		await form.locator("#c-prizes > li").nth(0).getByLabel("Prize name").fill(name);
		await form.getByLabel("Publish now (otherwise keep it as a draft)").uncheck();
		await form.getByRole("button", { name: "Create lottery" }).click();
		await see(status(page), `"${name}" created as a draft.`);
		const id = Number(/Lottery (\d+)/.exec(await status(page).innerText())![1]);
		await see(fact(page, "State"), "draft");
		await see(fact(page, "Participants"), /^0 of 5$/);
		await seeNot(page.getByRole("button", { name: "Join this lottery" }));
		expect((await api.post(`${L}/lotteryDetail`, { id })).status).toBe(404); // a draft is the creator's alone

		await page.getByRole("button", { name: "Created by me" }).click();
		await page.locator("#lottery-list").getByRole("button", { name, exact: true }).click();
		await page.getByRole("button", { name: "Publish" }).click();
		await see(status(page), `"${name}" is published.`);
		await see(fact(page, "State"), "open");
		expect((await api.post(`${L}/lotteryDetail`, { id })).body.data).toMatchObject({ state: "open", announceType: 2, joinNumber: 5 });
	});

	chromeTest("takes part in an instant lottery: the first participant wins the only prize, the next one sees nothing is left", async page => {
		await openConsole(page);
		await signUp(page, newMobile());
		const form = page.locator("#create-form");
		await form.getByLabel("How winners are drawn").selectOption({ label: "Instantly, when each person takes part" });
		await form.getByLabel("Closes at").fill("");
		const first = form.locator("#c-prizes > li").nth(0);
		await first.getByLabel("Prize name").fill("Lucky cat");
		await first.getByLabel("Odds (basis points)").fill("10000");
		await form.getByRole("button", { name: "Create lottery" }).click();
		await see(status(page), /Lottery \d+ "Lucky cat" created\./);
		const id = Number(/Lottery (\d+)/.exec(await status(page).innerText())![1]);
		await see(fact(page, "How it is drawn"), "Instant");
		await see(fact(page, "Closes"), "Open with no end");
		await see(page.locator("#detail-prizes tbody tr").first(), /Lucky cat.*100%/);

		await signOut(page);
		const winner = newMobile();
		await signUp(page, winner);
		await openByNumber(page, id);
		await page.getByRole("button", { name: "Try my luck" }).click();
		await see(page.locator("#outcome"), "You won: Lucky cat (level 1)!");
		await see(fact(page, "You"), "You took part");

		await signOut(page);
		await signUp(page, newMobile());
		await openByNumber(page, id);
		await page.getByRole("button", { name: "Try my luck" }).click();
		await see(page.locator("#outcome"), "Not won this time.");

		await page.getByRole("button", { name: "Show winners" }).click();
		await see(page.locator("#winners-body"), "Level 1 · Lucky cat: 1 winner");
		await see(page.locator("#winners-body"), masked(winner));
		const outcome = (await api.post(`${L}/getLotteryWinnersList`, { lotteryId: id })).body.data.list;
		expect(outcome[0]).toMatchObject({ winnerCount: 1 });
	});

	// --- draws and their proof ----------------------------------------------------------------------------

	chromeTest("shows a drawn lottery's winners, and recomputes its proof in the page: verified", async page => {
		const { id, players } = await sharedDrawn();
		const proof = (await api.post(`${L}/drawProof`, { lotteryId: id })).body.data;
		await openConsole(page);
		await openByNumber(page, id);
		await see(fact(page, "State"), "announced");

		await page.getByRole("button", { name: "Show winners" }).click();
		const winners = page.locator("#winners-body");
		await see(winners, "Level 1 · Gold: 1 winner");
		await see(winners, "Level 2 · Silver: 1 winner");
		const byId = new Map(players.map(p => [p.id, p.mobile]));
		for (const w of proof.winners) await see(winners, masked(byId.get(w.userId)!));

		await page.getByRole("button", { name: "Check the draw" }).click();
		await see(page.locator("#proof-verdict"), /^Verified: /);
		expect(await page.locator("#proof-checks li[data-ok=false]").count()).toBe(0);
		await see(page.locator("#proof-checks"), "Seed: SHA-256 of the revealed seed is the published commitment");
		await see(page.locator("#proof-checks"), "Winners: 2 winners recomputed, the same as the stored ones");
		// The page's table is the draw in order, as the server's own algorithm gives it.
		const expected = drawWinners({ seed: proof.seed, lotteryId: id, participants: players.map(p => p.id).sort((a, b) => a - b), prizes: proof.prizes }).winners;
		const rows = await page.locator("#proof-details tbody tr").allInnerTexts();
		expect(rows.map(r => r.split("\t").map(c => c.trim()))).toEqual(expected.map((w, i) => [String(i + 1), String(w.userId), `${w.prizeId} (level ${w.level})`, "yes"]));
	});

	chromeTest("reports a proof whose winner was changed as NOT verified, naming the difference", async page => {
		const { id, players } = await sharedDrawn();
		const proof = (await api.post(`${L}/drawProof`, { lotteryId: id })).body.data;
		const loser = players.find(p => !proof.winners.some((w: { userId: number }) => w.userId === p.id))!;
		const replaced = proof.winners[0];
		await page.route("**/lottery/v1/lottery/drawProof", async route => {
			const response = await route.fetch();
			const body = await response.json();
			body.data.winners[0].userId = loser.id;
			await route.fulfill({ response, json: body });
		});
		await openConsole(page);
		await openByNumber(page, id);
		await page.getByRole("button", { name: "Check the draw" }).click();
		await see(page.locator("#proof-verdict"), "NOT verified: 1 check failed (Winners).");
		const failed = page.locator("#proof-checks li[data-ok=false]");
		await see(failed, `user ${replaced.userId} should have won prize ${replaced.prizeId}`);
		await see(failed, `stored winner user ${loser.id} of prize ${replaced.prizeId} is not what the draw gives`);
		await see(page.locator("#proof-details tbody"), "NO");
		expect(await page.locator("#proof-verdict").getAttribute("data-verified")).toBe("false");
	});

	chromeTest("reports a proof whose seed was changed as NOT verified: the seed breaks its commitment", async page => {
		const { id } = await sharedDrawn();
		await page.route("**/lottery/v1/lottery/drawProof", async route => {
			const response = await route.fetch();
			const body = await response.json();
			const seed: string = body.data.seed;
			body.data.seed = seed.slice(0, -1) + (seed.endsWith("0") ? "1" : "0");
			await route.fulfill({ response, json: body });
		});
		await openConsole(page);
		await openByNumber(page, id);
		await page.getByRole("button", { name: "Check the draw" }).click();
		await see(page.locator("#proof-verdict"), /^NOT verified: \d checks? failed \(Seed/);
		await see(page.locator("#proof-checks li[data-ok=false]").first(), /Seed: SHA-256 of the revealed seed is [0-9a-f]{64}, the published commitment is [0-9a-f]{64}/);
	});

	chromeTest("reports a participant list that does not match the proof as NOT verified", async page => {
		const { id } = await sharedDrawn();
		await page.route("**/lottery/v1/lottery/drawParticipants", async route => {
			const response = await route.fetch();
			const body = await response.json();
			body.data.userIds.push(999_999_999);
			await route.fulfill({ response, json: body });
		});
		await openConsole(page);
		await openByNumber(page, id);
		await page.getByRole("button", { name: "Check the draw" }).click();
		await see(page.locator("#proof-verdict"), /^NOT verified: .*Participant count, Participants hash/);
		await see(page.locator("#proof-checks li[data-ok=false]").first(), "Participant count: 4 listed, the proof says 3");
	});

	chromeTest("computes lottery-draw-v1 in the page exactly as domain/draw.ts does", async page => {
		await openConsole(page);
		// The page's policy allows no inline script: load the module the way the console does, from its own origin.
		await page.evaluate("import('/proof.js').then(proof => { globalThis.__proof = proof; })");
		await page.waitForFunction("!!globalThis.__proof");

		// doc/draw-proof.md's test vector.
		const vector = await page.evaluate<{ participantsHash: string; winners: Array<{ userId: number; prizeId: number }> }>(
			"globalThis.__proof.drawWinners({ seed: '00'.repeat(31) + '01', lotteryId: 7, participants: [1,2,3,4,5,6,7,8,9,10], prizes: [{ id: 200, level: 2, count: 2 }, { id: 100, level: 1, count: 1 }] })",
		);
		expect(vector.participantsHash).toBe("bf794518e35d7f1ce3a50b3058c4191bb9401e568fc645d77e10b0f404cf1f22");
		expect(vector.winners.map(w => [w.userId, w.prizeId])).toEqual([[7, 100], [3, 200], [10, 200]]);

		// Random draws, small and large ids, more prizes than people and the other way round.
		const cases = Array.from({ length: 40 }, (_, c) => {
			const n = c === 0 ? 0 : crypto.randomInt(1, c < 30 ? 60 : 3000);
			const ids = new Set<number>();
			while (ids.size < n) ids.add(c % 2 ? crypto.randomInt(1, 2 ** 47) : crypto.randomInt(1, 5 * n + 2));
			const prizes = Array.from({ length: crypto.randomInt(1, 5) }, (_, i) => ({ id: 1000 + c * 10 + i, level: i + 1, count: crypto.randomInt(1, 40) }));
			return { seed: crypto.randomBytes(32).toString("hex"), lotteryId: crypto.randomInt(1, 2 ** 40), participants: [...ids].sort((a, b) => a - b), prizes: prizes.reverse() };
		});
		const inPage = await page.evaluate(
			([list]) => Promise.all(list.map(c => (globalThis as any).__proof.drawWinners(c))),
			[cases] as const,
		) as Array<{ participantsHash: string; winners: unknown[] }>;
		cases.forEach((c, i) => {
			const server = drawWinners({ ...c, participants: [...c.participants] });
			expect({ case: i, hash: inPage[i].participantsHash, winners: inPage[i].winners }).toEqual({ case: i, hash: server.participantsHash, winners: server.winners });
		});
	});

	// --- layout and accessibility basics ----------------------------------------------------------------------

	chromeTest("fits a 375-pixel-wide phone screen without horizontal scrolling, labels every control", async page => {
		const { id } = await sharedDrawn();
		await openConsole(page);
		expect(await scrollWidth(page)).toBeLessThanOrEqual(375);
		await signUp(page, newMobile());
		await page.getByRole("button", { name: "Add a prize" }).click();
		await page.locator("#create-form").getByLabel("How winners are drawn").selectOption("3");
		expect(await scrollWidth(page)).toBeLessThanOrEqual(375);

		await openByNumber(page, id);
		await page.getByRole("button", { name: "Show winners" }).click();
		await page.getByRole("button", { name: "Check the draw" }).click();
		await see(page.locator("#proof-verdict"), /^Verified: /);
		expect(await scrollWidth(page)).toBeLessThanOrEqual(375);

		// Every visible control has a label; everything clickable is a real button or link.
		const unlabelled = await page.evaluate<string[]>(`[...document.querySelectorAll("input, select, textarea")]
			.filter(e => e.offsetParent !== null && e.labels.length === 0).map(e => e.outerHTML)`);
		expect(unlabelled).toEqual([]);
		const fakeButtons = await page.evaluate<string[]>(`[...document.querySelectorAll("[onclick], div[tabindex], span[tabindex]")].map(e => e.outerHTML)`);
		expect(fakeButtons).toEqual([]);
		for (const landmark of ["banner", "main", "navigation"]) expect(await page.getByRole(landmark as "main").count()).toBe(1);
		expect(await page.getByRole("heading", { level: 1 }).innerText()).toBe("Lottery console");
	}, { viewport: { width: 375, height: 667 } });

	/** One test in a fresh browser context; a screenshot in test-results/browser/ when it fails. */
	function chromeTest(name: string, body: (page: Page) => Promise<void>, opts: { viewport?: { width: number; height: number } } = {}): void {
		it(name, () => chrome.run(name, body, opts), 60_000);
	}
});
