import crypto from "node:crypto";
import { encryptWxData } from "../../domain/wechat";
import { client, countRows, registerUser, startSystem, type Client, type TestSystem } from "../support/system";
import { startFakeWeChat, type FakeWeChat } from "../support/wechat-server";

const WX = "/usercenter/v1/user/wxMiniAuth";
const iv = () => crypto.randomBytes(16).toString("base64");

describe(`wxMiniAuth against a WeChat stand-in (${process.env.TEST_BACKEND})`, () => {
	let wechat: FakeWeChat;
	let sys: TestSystem;
	let api: Client;

	beforeAll(async () => {
		wechat = await startFakeWeChat();
		sys = await startSystem({ env: { WX_APPID: wechat.appId, WX_SECRET: wechat.secret, WX_API_BASE: wechat.baseUrl } });
		api = client(sys.baseUrl);
	});
	afterAll(async () => {
		await sys?.stop();
		await wechat?.close();
	});

	it("creates the user on first login and signs the same user in afterwards", async () => {
		wechat.addCode("code-a1", "openid-a");
		const first = await api.post(WX, { code: "code-a1", iv: "", encryptedData: "", nickname: "阿明", avatar: "https://wx/a.png" });
		expect(first.status).toBe(200);
		expect(Object.keys(first.body.data).sort()).toEqual(["accessExpire", "accessToken", "refreshAfter"]);
		const me = (await api.post("/usercenter/v1/user/detail", {}, first.body.data.accessToken)).body.data.userInfo;
		expect(me).toMatchObject({ nickname: "阿明", avatar: "https://wx/a.png", mobile: "" });

		const sent = wechat.requests.at(-1)!;
		expect(sent.searchParams.get("js_code")).toBe("code-a1");
		expect(sent.searchParams.get("grant_type")).toBe("authorization_code");

		wechat.addCode("code-a2", "openid-a");
		const again = await api.post(WX, { code: "code-a2", iv: "", encryptedData: "", nickname: "changed", avatar: "" });
		expect(again.status).toBe(200);
		const meAgain = (await api.post("/usercenter/v1/user/detail", {}, again.body.data.accessToken)).body.data.userInfo;
		expect(meAgain.id).toBe(me.id);
	});

	it("lets many WeChat users without a mobile number coexist", async () => {
		const ids = new Set<number>();
		for (let i = 0; i < 3; i++) {
			wechat.addCode(`code-many-${i}`, `openid-many-${i}`);
			const res = await api.post(WX, { code: `code-many-${i}`, iv: "", encryptedData: "", nickname: "", avatar: "" });
			expect(res.status).toBe(200);
			ids.add((await api.post("/usercenter/v1/user/detail", {}, res.body.data.accessToken)).body.data.userInfo.id);
		}
		expect(ids.size).toBe(3);
	});

	it("makes one account when the first logins of an openid race", async () => {
		const codes = Array.from({ length: 5 }, (_, i) => `code-race-${i}`);
		for (const c of codes) wechat.addCode(c, "openid-race");
		const results = await Promise.all(codes.map(code => api.post(WX, { code, iv: "", encryptedData: "", nickname: "r", avatar: "" })));
		expect(results.map(r => r.status)).toEqual([200, 200, 200, 200, 200]);
		const ids = await Promise.all(results.map(async r => (await api.post("/usercenter/v1/user/detail", {}, r.body.data.accessToken)).body.data.userInfo.id));
		expect(new Set(ids).size).toBe(1);
		const [rows] = await sys.db.query("SELECT COUNT(*) AS n FROM user_auth WHERE auth_key = 'openid-race'");
		expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(1);
	});

	it("decrypts the profile with the session key, and a WeChat-verified number joins its existing account", async () => {
		const existing = await registerUser(api);
		const sessionKey = wechat.addCode("code-phone", "openid-phone");
		const ivB64 = iv();
		const encryptedData = encryptWxData(sessionKey, ivB64, { phoneNumber: existing.mobile, purePhoneNumber: existing.mobile, countryCode: "86", watermark: { appid: wechat.appId, timestamp: 1 } });
		const res = await api.post(WX, { code: "code-phone", iv: ivB64, encryptedData, nickname: "", avatar: "" });
		expect(res.status).toBe(200);
		const me = (await api.post("/usercenter/v1/user/detail", {}, res.body.data.accessToken)).body.data.userInfo;
		expect(me.id).toBe(existing.id);

		const profileKey = wechat.addCode("code-profile", "openid-profile");
		const iv2 = iv();
		const profile = encryptWxData(profileKey, iv2, { nickName: "微信昵称", avatarUrl: "https://wx/p.png", watermark: { appid: wechat.appId } });
		const created = await api.post(WX, { code: "code-profile", iv: iv2, encryptedData: profile });
		const info = (await api.post("/usercenter/v1/user/detail", {}, created.body.data.accessToken)).body.data.userInfo;
		expect(info).toMatchObject({ nickname: "微信昵称", avatar: "https://wx/p.png" });
	});

	it("refuses data that was not encrypted with this session or for this app, creating nobody", async () => {
		const users = await countRows(sys.db, "user");
		wechat.addCode("code-forged", "openid-forged");
		const ivB64 = iv();
		const forged = encryptWxData(crypto.randomBytes(16).toString("base64"), ivB64, { nickName: "x", watermark: { appid: wechat.appId } });
		const res = await api.post(WX, { code: "code-forged", iv: ivB64, encryptedData: forged, nickname: "", avatar: "" });
		expect(res.status).toBe(400);
		expect(res.body.code).toBe(200005);

		const key = wechat.addCode("code-other-app", "openid-other-app");
		const otherApp = encryptWxData(key, ivB64, { nickName: "x", watermark: { appid: "wx-someone-else" } });
		const res2 = await api.post(WX, { code: "code-other-app", iv: ivB64, encryptedData: otherApp, nickname: "", avatar: "" });
		expect(res2.status).toBe(400);
		expect(await countRows(sys.db, "user")).toBe(users);
	});

	it("passes WeChat's refusal on as 401 with its errcode", async () => {
		const res = await api.post(WX, { code: "never-issued", iv: "", encryptedData: "", nickname: "", avatar: "" });
		expect(res.status).toBe(401);
		expect(res.body.code).toBe(200004);
		expect(res.body.msg).toContain("40029");
	});

	it("rejects a missing code with 400", async () => {
		const res = await api.post(WX, { iv: "", encryptedData: "" });
		expect(res.status).toBe(400);
		expect(res.body.msg).toContain("'code'");
	});
});

describe(`wxMiniAuth when WeChat is not there (${process.env.TEST_BACKEND})`, () => {
	it("answers 503 with a clear message when unconfigured, and 502 when WeChat cannot be reached", async () => {
		const unconfigured = await startSystem();
		try {
			const res = await client(unconfigured.baseUrl).post(WX, { code: "c", iv: "", encryptedData: "", nickname: "", avatar: "" });
			expect(res.status).toBe(503);
			expect(res.body).toEqual({ code: 200003, msg: "WeChat login is not configured on this server" });
		} finally {
			await unconfigured.stop();
		}

		const unreachable = await startSystem({ env: { WX_APPID: "a", WX_SECRET: "s", WX_API_BASE: "http://127.0.0.1:9" } });
		try {
			const res = await client(unreachable.baseUrl).post(WX, { code: "c", iv: "", encryptedData: "", nickname: "", avatar: "" });
			expect(res.status).toBe(502);
			expect(res.body.code).toBe(200006);
			expect(await countRows(unreachable.db, "user")).toBe(0);
		} finally {
			await unreachable.stop();
		}
	});
});
