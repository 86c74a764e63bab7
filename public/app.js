/**
 * The lottery console: one page over the gateway's REST API (same origin, go-lottery's paths and envelope).
 * Plain DOM, no framework. Server data only ever reaches the page as text (textContent), never as HTML.
 */
import { verifyDraw } from "./proof.js";

const SESSION_KEY = "lotteryConsole.session";
const PAGE_SIZE = 10;
const USER = "/usercenter/v1/user";
const LOTTERY = "/lottery/v1/lottery";

const ANNOUNCE_TYPES = { 1: "At a set time", 2: "When enough people joined", 3: "Instant" };
const PRIZE_KINDS = { 1: "Goods", 2: "Coupon", 3: "Redemption code", 4: "Shop item", 5: "Red packet cover", 6: "Red packet" };
const GRANT_TYPES = { 1: "Shipped", 2: "By contact", 3: "Winner fills in information" };
const DEFAULT_ODDS = { 1: 100, 2: 400, 3: 1500, 4: 3000 };

const $ = id => document.getElementById(id);

const state = {
	me: null, // {id, mobile}
	listMode: "open", // "open" | "mine"
	lastId: 0,
	current: null, // the lottery shown in #detail (lotteryDetail's data)
};

// --- session -------------------------------------------------------------------------------------------

function session() {
	try {
		const s = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
		if (s && s.accessToken && (!s.accessExpire || s.accessExpire * 1000 > Date.now())) return s;
	} catch {
		/* a broken entry counts as none */
	}
	return null;
}

function saveSession(tokens, mobile) {
	localStorage.setItem(SESSION_KEY, JSON.stringify({ accessToken: tokens.accessToken, accessExpire: tokens.accessExpire, mobile }));
}

function dropSession() {
	localStorage.removeItem(SESSION_KEY);
	state.me = null;
}

// --- the API ---------------------------------------------------------------------------------------------

class ApiError extends Error {
	constructor(status, code, msg) {
		super(msg);
		this.status = status;
		this.code = code;
	}
}

/** POST a JSON body, unwrap {code, msg, data}; a failure throws ApiError carrying the server's msg. */
async function api(path, body = {}) {
	const s = session();
	const headers = { "Content-Type": "application/json" };
	if (s) headers.Authorization = `Bearer ${s.accessToken}`;
	let res;
	try {
		res = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
	} catch {
		throw new ApiError(0, 0, "the server cannot be reached; check your connection and try again");
	}
	let json = null;
	try {
		json = await res.json();
	} catch {
		/* not JSON: answered below from the status */
	}
	if (!res.ok || !json || json.code !== 200) {
		const msg = (json && json.msg) || `the server answered ${res.status} ${res.statusText}`;
		if (res.status === 401 && s && json && json.code === 100003) {
			// The token expired or its user is gone: sign out here too.
			dropSession();
			renderAccount();
		}
		throw new ApiError(res.status, json ? json.code : 0, msg);
	}
	return json.data;
}

// --- what the page says ----------------------------------------------------------------------------------

/** Puts a message in the live region (announced by screen readers). kind: "info" | "ok" | "error". */
function say(text, kind = "info") {
	const box = $("status");
	box.dataset.kind = kind;
	// The same message twice in a row still changes the region's text, so it is announced again.
	box.textContent = box.textContent === text ? `${text}\u00a0` : text;
}

const sayError = err => say(err instanceof ApiError || err instanceof Error ? err.message : String(err), "error");

/** Runs an action once at a time per button, marking the button busy meanwhile, and reports its failure. */
async function busy(button, action) {
	if (button && button.getAttribute("aria-busy") === "true") return;
	if (button) button.setAttribute("aria-busy", "true");
	try {
		await action();
	} catch (err) {
		sayError(err);
	} finally {
		if (button) button.removeAttribute("aria-busy");
	}
}

function el(tag, attrs = {}, ...children) {
	const node = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false) continue;
		if (k === "class") node.className = v;
		else if (k === "text") node.textContent = v;
		else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
		else node.setAttribute(k, v === true ? "" : String(v));
	}
	for (const c of children) if (c !== null && c !== undefined) node.append(c);
	return node;
}

const formatTime = sec => (sec ? new Date(sec * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "—");

function toLocalInput(date) {
	const pad = n => String(n).padStart(2, "0");
	return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const fromLocalInput = value => (value ? Math.floor(new Date(value).getTime() / 1000) : 0);

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// --- account ---------------------------------------------------------------------------------------------

function renderAccount() {
	const s = session();
	const signedIn = !!(s && state.me);
	$("auth-form").hidden = signedIn;
	$("signed-in").hidden = !signedIn;
	$("whoami").textContent = signedIn ? `Signed in as ${state.me.mobile || `user ${state.me.id}`}` : "Not signed in";
	if (signedIn) {
		$("signed-in-mobile").textContent = state.me.mobile || "(no mobile number)";
		$("signed-in-id").textContent = String(state.me.id);
	}
	$("create-form").hidden = !signedIn;
	$("create-signin").hidden = signedIn;
	$("show-mine").hidden = !signedIn;
	if (!signedIn && state.listMode === "mine") setListMode("open");
	if (state.current) renderDetail();
}

async function loadMe() {
	if (!session()) {
		state.me = null;
		return;
	}
	const { userInfo } = await api(`${USER}/detail`);
	state.me = { id: userInfo.id, mobile: userInfo.mobile };
}

async function onAuthSubmit(event) {
	event.preventDefault();
	const register = event.submitter && event.submitter.value === "register";
	const mobile = $("auth-mobile").value.trim();
	const password = $("auth-password").value;
	if (!/^\d{11}$/.test(mobile)) {
		say("Enter your mobile number: 11 digits.", "error");
		$("auth-mobile").focus();
		return;
	}
	if (!password) {
		say("Enter your password.", "error");
		$("auth-password").focus();
		return;
	}
	await busy(event.submitter, async () => {
		const tokens = await api(`${USER}/${register ? "register" : "login"}`, { mobile, password });
		saveSession(tokens, mobile);
		await loadMe();
		$("auth-password").value = "";
		renderAccount();
		say(register ? `Account created. Signed in as ${mobile}.` : `Signed in as ${mobile}.`, "ok");
		$("account-title").focus();
		if (state.current) await openLottery(state.current.id, { focus: false });
	});
}

function signOut() {
	dropSession();
	renderAccount();
	say("Signed out.", "ok");
	$("auth-mobile").focus();
	if (state.current) openLottery(state.current.id, { focus: false }).catch(sayError);
}

// --- browsing --------------------------------------------------------------------------------------------

function setListMode(mode) {
	state.listMode = mode;
	$("show-open").setAttribute("aria-pressed", String(mode === "open"));
	$("show-mine").setAttribute("aria-pressed", String(mode === "mine"));
}

function lotteryItem(l) {
	const meta = el("span", { class: "meta", id: `lottery-meta-${l.id}` });
	const when = l.announceType === 2
		? `when ${plural(l.joinNumber, "person", "people")} joined, or ${formatTime(l.announceTime)}`
		: l.announceType === 3
			? (l.announceTime ? `closes ${formatTime(l.announceTime)}` : "no end")
			: formatTime(l.announceTime);
	meta.textContent = `No. ${l.id} · ${ANNOUNCE_TYPES[l.announceType] || "?"} · ${when}${l.isAnnounced ? " · drawn" : ""}`;
	const open = el("button", { type: "button", class: "link-button", "aria-describedby": meta.id, text: l.name || `Lottery ${l.id}`, onclick: () => openLottery(l.id).catch(sayError) });
	return el("li", {}, open, meta);
}

async function loadList({ more = false } = {}) {
	if (!more) state.lastId = 0;
	const list = state.listMode === "mine"
		? (await api(`${LOTTERY}/getUserCreatedLotteryList`, { lastId: state.lastId, size: PAGE_SIZE })).list
		: (await api(`${LOTTERY}/lotteryList`, { lastId: state.lastId, pageSize: PAGE_SIZE })).list;
	const ul = $("lottery-list");
	if (!more) ul.replaceChildren();
	const items = list.map(lotteryItem);
	ul.append(...items);
	if (list.length) state.lastId = list[list.length - 1].id;
	$("list-empty").hidden = ul.children.length > 0;
	$("load-more").hidden = list.length < PAGE_SIZE;
	// After "Load more", keyboard focus goes on to the first new lottery instead of being lost.
	if (more && items.length) items[0].querySelector("button").focus();
	if (more) say(list.length ? `${plural(list.length, "more lottery", "more lotteries")} shown.` : "No more lotteries.");
}

// --- one lottery -------------------------------------------------------------------------------------------

async function openLottery(id, { focus = true } = {}) {
	const [detail, people] = await Promise.all([
		api(`${LOTTERY}/lotteryDetail`, { id }),
		api(`${LOTTERY}/participations`, { lotteryId: id, pageIndex: 1, pageSize: 1 }),
	]);
	const switched = !state.current || state.current.id !== detail.id;
	state.current = { ...detail, participantCount: people.count };
	if (switched) {
		$("outcome").hidden = true;
		$("winners").hidden = true;
		$("proof").hidden = true;
	}
	renderDetail();
	$("detail").hidden = false;
	if (focus) $("detail-title").focus();
}

function fact(term, value, className) {
	return [el("dt", { text: term }), el("dd", { text: value, class: className })];
}

function renderDetail() {
	const l = state.current;
	if (!l) return;
	const signedIn = !!(session() && state.me);
	const mine = signedIn && state.me.id === l.userId;
	$("detail-title").textContent = l.name || `Lottery ${l.id}`;

	let when;
	if (l.announceType === 2) when = `When ${plural(l.joinNumber, "person", "people")} joined, at the latest ${formatTime(l.announceTime)}`;
	else if (l.announceType === 3) when = l.announceTime ? `Open until ${formatTime(l.announceTime)}` : "Open with no end";
	else when = formatTime(l.announceTime);

	let you;
	if (!signedIn) you = "Sign in to take part";
	else if (l.isParticipated) you = l.announceType === 3 ? "You took part" : "You joined";
	else you = "You have not joined";

	const facts = [
		...fact("Number", String(l.id)),
		...fact("State", l.state),
		...fact("How it is drawn", ANNOUNCE_TYPES[l.announceType] || String(l.announceType)),
		...fact(l.announceType === 3 ? "Closes" : "Draw time", when),
		...fact("Participants", l.announceType === 2 ? `${l.participantCount} of ${l.joinNumber}` : String(l.participantCount)),
		...fact("You", you + (mine ? " · you created it" : "")),
		...fact("Claim prizes until", formatTime(l.awardDeadline)),
	];
	if (l.seedCommitment) facts.push(...fact("Seed commitment", l.seedCommitment, "hash"));
	$("detail-facts").replaceChildren(...facts);
	$("detail-introduce").textContent = l.introduce || "";
	$("detail-introduce").hidden = !l.introduce;

	// Odds only mean something for instant lotteries.
	const instant = l.announceType === 3;
	const cell = (label, text) => el("td", { "data-label": label, text });
	const rows = [...l.prizes].sort((a, b) => a.level - b.level).map(p => el("tr", {},
		cell("Level", String(p.level)),
		cell("Prize", `${p.name} (${PRIZE_KINDS[p.type] || `kind ${p.type}`})`),
		cell("Count", String(p.count)),
		cell("Left", String(p.stock)),
		instant ? cell("Odds", odds(p)) : null,
		cell("Delivery", GRANT_TYPES[p.grantType] || String(p.grantType)),
	));
	$("prize-odds-col").hidden = !instant;
	$("detail-prizes").tBodies[0].replaceChildren(...rows);

	const open = l.state === "open";
	$("join").hidden = !(signedIn && open && l.announceType !== 3 && !l.isParticipated);
	$("try-luck").hidden = !(signedIn && l.announceType === 3 && (open || l.isParticipated));
	$("try-luck").textContent = l.isParticipated ? "Show my outcome" : "Try my luck";
	$("publish").hidden = !(mine && l.state === "draft");
	$("show-winners").hidden = !(l.state === "announced" || (l.announceType === 3 && l.state !== "draft"));
	$("check-proof").hidden = !(l.state === "announced" && l.announceType !== 3);
}

function odds(p) {
	const bp = p.probability ?? DEFAULT_ODDS[p.level] ?? 0;
	return `${(bp / 100).toFixed(2).replace(/\.?0+$/, "")}%`;
}

async function join(button) {
	await busy(button, async () => {
		const id = state.current.id;
		await api(`${LOTTERY}/participation`, { lotteryId: id });
		await openLottery(id, { focus: false });
		say(`You joined "${state.current.name}".`, "ok");
		$("detail-title").focus();
	});
}

async function tryLuck(button) {
	await busy(button, async () => {
		const id = state.current.id;
		const result = await api(`${LOTTERY}/instantParticipation`, { lotteryId: id });
		const text = result.prizeId
			? `You won: ${result.prize ? `${result.prize.name} (level ${result.prize.level})` : `prize ${result.prizeId}`}!`
			: "Not won this time.";
		await openLottery(id, { focus: false });
		const outcome = $("outcome");
		outcome.textContent = text;
		outcome.dataset.won = String(!!result.prizeId);
		outcome.hidden = false;
		say(text, result.prizeId ? "ok" : "info");
		$("try-luck").focus();
	});
}

async function publish(button) {
	await busy(button, async () => {
		const id = state.current.id;
		await api(`${LOTTERY}/publishLottery`, { id });
		await openLottery(id, { focus: false });
		say(`"${state.current.name}" is published.`, "ok");
		$("detail-title").focus();
	});
}

async function showWinners(button) {
	await busy(button, async () => {
		const { list } = await api(`${LOTTERY}/getLotteryWinnersList`, { lotteryId: state.current.id });
		const total = list.reduce((s, g) => s + g.winnerCount, 0);
		const body = $("winners-body");
		if (!total) {
			body.replaceChildren(el("p", { text: "Nobody has won a prize yet." }));
		} else {
			body.replaceChildren(el("ul", { class: "winner-groups" }, ...list.map(g => el("li", {},
				el("p", { class: "winner-prize", text: `Level ${g.prize.level} · ${g.prize.name}: ${plural(g.winnerCount, "winner")}` }),
				g.users.length ? el("ul", {}, ...g.users.map(u => el("li", { text: u.nickname ? `${u.nickname} (${u.mobile || "no mobile"})` : u.mobile || "a WeChat user" }))) : null,
			))));
		}
		$("winners").hidden = false;
		say(`${plural(total, "winner")} in "${state.current.name}".`);
		$("winners-title").focus();
	});
}

async function allParticipants(lotteryId) {
	const ids = [];
	for (let after = 0; ;) {
		const page = await api(`${LOTTERY}/drawParticipants`, { lotteryId, afterUserId: after, limit: 10000 });
		ids.push(...page.userIds);
		if (!page.next) return ids;
		after = page.next;
	}
}

async function checkProof(button) {
	await busy(button, async () => {
		const lottery = state.current;
		const verdict = $("proof-verdict");
		verdict.textContent = "Checking…";
		verdict.dataset.verified = "";
		$("proof-checks").replaceChildren();
		$("proof-details").replaceChildren();
		$("proof").hidden = false;
		let proof;
		let report;
		try {
			const [p, participants] = await Promise.all([
				api(`${LOTTERY}/drawProof`, { lotteryId: lottery.id }),
				allParticipants(lottery.id),
			]);
			proof = p;
			report = await verifyDraw(proof, participants, { publishedCommitment: lottery.seedCommitment, lotteryId: lottery.id });
		} catch (err) {
			verdict.textContent = `Could not check the draw: ${err.message}`;
			verdict.dataset.verified = "false";
			throw err;
		}
		const failed = report.checks.filter(c => !c.ok);
		verdict.textContent = report.verified
			? "Verified: the stored winners are exactly what the published seed and participant list give."
			: `NOT verified: ${plural(failed.length, "check")} failed (${failed.map(c => c.name).join(", ")}).`;
		verdict.dataset.verified = String(report.verified);
		$("proof-checks").replaceChildren(...report.checks.map(c => el("li", { "data-ok": String(c.ok) },
			el("strong", { text: `${c.ok ? "✓ passed" : "✗ FAILED"} · ${c.name}: ` }),
			el("span", { class: "detail", text: c.detail }),
		)));
		$("proof-details").replaceChildren(...proofDetails(proof, report));
		say(verdict.textContent, report.verified ? "ok" : "error");
		$("proof-title").focus();
	});
}

function proofDetails(proof, report) {
	const stored = new Set(proof.winners.map(w => `${w.userId}:${w.prizeId}`));
	const me = state.me && state.me.id;
	const rows = report.expected.map((w, i) => el("tr", {},
		el("td", { text: String(i + 1) }),
		el("td", { text: `${w.userId}${w.userId === me ? " (you)" : ""}` }),
		el("td", { text: `${w.prizeId} (level ${w.level})` }),
		el("td", { text: stored.has(`${w.userId}:${w.prizeId}`) ? "yes" : "NO" }),
	));
	return [
		el("dl", { class: "facts" },
			...fact("Seed", proof.seed, "hash"), ...fact("Participants hash", proof.participantsHash, "hash"),
			...fact("Drawn at", formatTime(proof.announcedTime))),
		el("div", { class: "table-wrap" }, el("table", {},
			el("caption", { text: "Winners recomputed here, in drawing order" }),
			el("thead", {}, el("tr", {}, ...["#", "User", "Prize", "Stored"].map(h => el("th", { scope: "col", text: h })))),
			el("tbody", {}, ...rows))),
	];
}

// --- creating ----------------------------------------------------------------------------------------------

let prizeSeq = 0;

function addPrize() {
	const li = $("prize-template").content.firstElementChild.cloneNode(true);
	const n = ++prizeSeq;
	for (const input of li.querySelectorAll("[data-field]")) {
		input.id = `prize-${n}-${input.dataset.field}`;
		li.querySelector(`label[data-for="${input.dataset.field}"]`).htmlFor = input.id;
	}
	li.querySelector(".remove-prize").addEventListener("click", () => removePrize(li));
	$("c-prizes").append(li);
	renumberPrizes();
	return li;
}

function removePrize(li) {
	const next = li.nextElementSibling || li.previousElementSibling;
	li.remove();
	renumberPrizes();
	(next ? next.querySelector('[data-field="name"]') : $("add-prize")).focus();
}

function renumberPrizes() {
	const items = [...$("c-prizes").children];
	const instant = $("c-type").value === "3";
	items.forEach((li, i) => {
		for (const span of li.querySelectorAll(".prize-level")) span.textContent = String(i + 1);
		li.querySelector(".remove-prize").hidden = items.length === 1;
		li.querySelector(".odds").hidden = !instant;
	});
	$("add-prize").hidden = items.length >= 20;
}

function onTypeChange() {
	const type = $("c-type").value;
	$("c-join-field").hidden = type !== "2";
	$("c-odds-hint").hidden = type !== "3";
	$("c-time-label").textContent = type === "3" ? "Closes at" : type === "2" ? "Draw at the latest at" : "Draw time";
	$("c-time-hint").textContent = type === "3" ? "Your local time; leave it empty for no end" : "Your local time";
	renumberPrizes();
}

function resetCreateForm() {
	$("create-form").reset();
	const now = Date.now();
	$("c-time").value = toLocalInput(new Date(now + 86400_000));
	$("c-deadline").value = toLocalInput(new Date(now + 8 * 86400_000));
	$("c-prizes").replaceChildren();
	addPrize();
	onTypeChange();
}

async function onCreateSubmit(event) {
	event.preventDefault();
	const announceType = Number($("c-type").value);
	const prizes = [...$("c-prizes").children].map((li, i) => {
		const v = field => li.querySelector(`[data-field="${field}"]`).value.trim();
		const prize = { type: Number(v("type")), name: v("name"), count: Number(v("count")), thumb: "", level: i + 1, grantType: Number(v("grantType")) };
		if (announceType === 3 && v("probability") !== "") prize.probability = Number(v("probability"));
		return prize;
	});
	const unnamed = prizes.findIndex(p => !p.name);
	if (unnamed >= 0) {
		say(`Give prize ${unnamed + 1} a name.`, "error");
		$("c-prizes").children[unnamed].querySelector('[data-field="name"]').focus();
		return;
	}
	const body = {
		name: $("c-name").value.trim(),
		thumb: "",
		introduce: $("c-introduce").value,
		announceType,
		announceTime: fromLocalInput($("c-time").value),
		joinNumber: announceType === 2 ? Number($("c-join").value) : 0,
		awardDeadline: fromLocalInput($("c-deadline").value),
		sponsorId: 0,
		isClocked: 0,
		clockTask: null,
		publishType: $("c-publish").checked ? 1 : 2,
		prizes,
	};
	await busy(event.submitter, async () => {
		const { id } = await api(`${LOTTERY}/createLottery`, body);
		resetCreateForm();
		await openLottery(id);
		say(`Lottery ${id} "${state.current.name}" created${body.publishType === 2 ? " as a draft" : ""}.`, "ok");
		loadList().catch(() => undefined);
	});
}

// --- start ----------------------------------------------------------------------------------------------

function wire() {
	$("auth-form").addEventListener("submit", onAuthSubmit);
	$("sign-out").addEventListener("click", signOut);
	$("show-open").addEventListener("click", e => busy(e.currentTarget, async () => { setListMode("open"); await loadList(); }));
	$("show-mine").addEventListener("click", e => busy(e.currentTarget, async () => { setListMode("mine"); await loadList(); }));
	$("refresh-list").addEventListener("click", e => busy(e.currentTarget, () => loadList()));
	$("load-more").addEventListener("click", e => busy(e.currentTarget, () => loadList({ more: true })));
	$("open-form").addEventListener("submit", event => {
		event.preventDefault();
		const id = Number($("open-id").value);
		if (!Number.isInteger(id) || id < 1) {
			say("Enter a lottery number.", "error");
			$("open-id").focus();
			return;
		}
		busy(event.submitter, () => openLottery(id));
	});
	$("join").addEventListener("click", e => join(e.currentTarget));
	$("try-luck").addEventListener("click", e => tryLuck(e.currentTarget));
	$("publish").addEventListener("click", e => publish(e.currentTarget));
	$("show-winners").addEventListener("click", e => showWinners(e.currentTarget));
	$("check-proof").addEventListener("click", e => checkProof(e.currentTarget));
	$("refresh-detail").addEventListener("click", e => busy(e.currentTarget, () => openLottery(state.current.id, { focus: false })));
	$("c-type").addEventListener("change", onTypeChange);
	$("add-prize").addEventListener("click", () => addPrize().querySelector('[data-field="name"]').focus());
	$("create-form").addEventListener("submit", onCreateSubmit);
}

async function start() {
	wire();
	resetCreateForm();
	try {
		await loadMe();
	} catch (err) {
		dropSession();
		if (err instanceof ApiError && err.status === 401) say("Your session has expired: sign in again.", "error");
		else sayError(err);
	}
	renderAccount();
	try {
		await loadList();
	} catch (err) {
		sayError(err);
	}
	document.body.dataset.ready = "true";
}

start();
