import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { webhookSignature } from "../../lib/notice-channels";
import { createLottery, L, nowSec, prize } from "../support/lottery";
import { client, registerUser, startSystem, type Client, type TestSystem } from "../support/system";
import { waitFor } from "../support/wait";
import { startFakeWeChat, type FakeWeChat } from "../support/wechat-server";

/** A deployment's webhook receiver: answers with the statuses it is told to, in turn. */
async function startWebhook(statuses: number[]) {
	const received: Array<{ body: string; headers: http.IncomingHttpHeaders }> = [];
	const server = http.createServer((req, res) => {
		let body = "";
		req.on("data", c => (body += c));
		req.on("end", () => {
			received.push({ body, headers: req.headers });
			res.statusCode = statuses.length > 1 ? statuses.shift()! : statuses[0];
			res.end();
		});
	});
	await new Promise<void>(r => server.listen(0, "127.0.0.1", r));
	return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, close: () => new Promise<void>(r => { server.closeAllConnections(); server.close(() => r()); }) };
}


describe(`notices (${process.env.TEST_BACKEND}, events through the outbox and Moleculer)`, () => {
	let sys: TestSystem;
	let api: Client;
	let wechat: FakeWeChat;
	let hook: Awaited<ReturnType<typeof startWebhook>>;

	beforeAll(async () => {
		wechat = await startFakeWeChat();
		// the receiver stumbles twice, then takes everything
		hook = await startWebhook([503, 500, 200]);
		sys = await startSystem({
			env: {
				WX_APPID: wechat.appId, WX_SECRET: wechat.secret, WX_API_BASE: wechat.baseUrl, WX_NOTICE_TEMPLATE_ID: "tmpl-result", WX_MSG_TOKEN: "msg-token",
				NOTICE_WEBHOOK_URL: hook.url, NOTICE_WEBHOOK_SECRET: "hook-secret", NOTICE_RETRY_BASE_MS: "100", DRAW_POLL_MS: "200", OUTBOX_POLL_MS: "100",
			},
		});
		api = client(sys.baseUrl);
	});
	afterAll(async () => {
		await sys?.stop();
		await hook?.close();
		await wechat?.close();
	});

	it("tells every participant in the inbox, winners through WeChat too, and the webhook, retried until it answers", async () => {
		const owner = await registerUser(api);
		wechat.addCode("c-win", "openid-winner");
		const wx = (await api.post("/usercenter/v1/user/wxMiniAuth", { code: "c-win", iv: "", encryptedData: "", nickname: "Wx", avatar: "" })).body.data.accessToken as string;
		const others = await Promise.all([registerUser(api), registerUser(api)]);
		const id = await createLottery(api, owner.token, { announceType: 2, joinNumber: 3, prizes: [prize(1, { name: "Camera", count: 3 })] });
		for (const token of [wx, ...others.map(o => o.token)]) expect((await api.post(`${L}/participation`, { lotteryId: id }, token)).status).toBe(200);

		const inbox = (token: string) => api.post("/notice/v1/notice/list", { lastId: 0, pageSize: 10 }, token);
		await waitFor(async () => (await inbox(wx)).body.data.list.length > 0, 10_000, "the winner's notice");
		const mine = (await inbox(wx)).body.data;
		expect(mine.unread).toBe(1);
		expect(mine.list[0]).toMatchObject({ type: "prize.won", lotteryId: id, isRead: 0 });
		expect(mine.list[0].content).toContain("Camera");

		await waitFor(() => wechat.messages.some(m => m.touser === "openid-winner"), 10_000, "the WeChat subscription message");
		const msg = wechat.messages.find(m => m.touser === "openid-winner")!;
		expect(msg).toMatchObject({ template_id: "tmpl-result", page: `pages/lottery/detail?id=${id}` });

		await waitFor(() => hook.received.some(r => JSON.parse(r.body).type === "prize.won"), 15_000, "the webhook to get through");
		const delivered = hook.received.filter(r => r.headers["x-lottery-event"] === "prize.won");
		for (const r of delivered) expect(r.headers["x-lottery-signature"]).toBe(webhookSignature("hook-secret", r.body));
		// the first attempts were refused with 5xx and retried
		expect(hook.received.length).toBeGreaterThanOrEqual(3);

		expect((await api.post("/notice/v1/notice/read", { all: true }, wx)).status).toBe(200);
		expect((await inbox(wx)).body.data.unread).toBe(0);
		expect((await api.post("/notice/v1/notice/read", {}, wx)).status).toBe(400);
		expect((await api.post("/notice/v1/notice/list", {})).status).toBe(401);
	});

	it("does not retry a permanent refusal (the user turned WeChat messages off)", async () => {
		const owner = await registerUser(api);
		wechat.addCode("c-refuse", "openid-refuser");
		wechat.refuseOpenid("openid-refuser", 43101);
		const wx = (await api.post("/usercenter/v1/user/wxMiniAuth", { code: "c-refuse", iv: "", encryptedData: "", nickname: "R", avatar: "" })).body.data.accessToken as string;
		const id = await createLottery(api, owner.token, { announceType: 2, joinNumber: 1, prizes: [prize(1)] });
		await api.post(`${L}/participation`, { lotteryId: id }, wx);
		await waitFor(async () => {
			const [rows] = await sys.db.query("SELECT state, attempts FROM notice_delivery WHERE channel = 'wechat' AND payload LIKE '%openid-refuser%'");
			return (rows as Array<{ state: number }>).some(r => Number(r.state) === 2);
		}, 10_000, "the refused delivery to be given up");
		await new Promise(r => setTimeout(r, 500));
		const [rows] = await sys.db.query("SELECT state, attempts, last_error AS error FROM notice_delivery WHERE channel = 'wechat' AND payload LIKE '%openid-refuser%'");
		expect(rows).toEqual([{ state: 2, attempts: 1, error: expect.stringContaining("43101") }]);
	});

	it("answers WeChat's server verification with echostr, and refuses a wrong signature", async () => {
		const timestamp = String(nowSec());
		const nonce = "n0nce";
		const signature = crypto.createHash("sha1").update(["msg-token", timestamp, nonce].sort().join("")).digest("hex");
		const ok = await fetch(`${sys.baseUrl}/notice/v1/event?signature=${signature}&timestamp=${timestamp}&nonce=${nonce}&echostr=hello123`);
		expect(ok.status).toBe(200);
		expect(await ok.text()).toBe("hello123");
		const bad = await fetch(`${sys.baseUrl}/notice/v1/event?signature=${"0".repeat(40)}&timestamp=${timestamp}&nonce=${nonce}&echostr=hello123`);
		expect(bad.status).toBe(403);
		expect(await bad.text()).not.toContain("hello123");
	});

	it("adds nothing when an event is delivered again (consumers deduplicate by eventId)", async () => {
		const me = await registerUser(api);
		const event = { eventId: crypto.randomUUID(), type: "prize.won", version: 1, time: new Date().toISOString(), aggregateType: "lottery", aggregateId: "999999", data: { lotteryId: 999999, userId: me.id, prizeId: 1, level: 1 } };
		for (let i = 0; i < 3; i++) await sys.gateway.emit("domain.prize.won", event);
		await waitFor(async () => (await api.post("/notice/v1/notice/list", {}, me.token)).body.data.list.length > 0, 10_000, "the notice");
		await new Promise(r => setTimeout(r, 500));
		expect((await api.post("/notice/v1/notice/list", {}, me.token)).body.data.list).toHaveLength(1);
	});
});
