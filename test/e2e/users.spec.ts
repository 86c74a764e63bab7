import { issueToken } from "../../domain/token";
import { createLottery } from "../support/lottery";
import { client, countRows, newMobile, registerUser, startSystem, type Client, type TestSystem } from "../support/system";

const U = "/usercenter/v1";

describe(`usercenter through the gateway (${process.env.TEST_BACKEND})`, () => {
	let sys: TestSystem;
	let api: Client;

	beforeAll(async () => {
		sys = await startSystem({ env: { LOGIN_LIMIT_MOBILE: "3/60s", LOGIN_LIMIT_IP: "10000/60s", JWT_EXPIRE: "3600" } });
		api = client(sys.baseUrl);
	});
	afterAll(() => sys?.stop());

	describe("register", () => {
		it("creates the account and answers go-lottery's token shape", async () => {
			const mobile = newMobile();
			const before = Math.floor(Date.now() / 1000);
			const res = await api.post(`${U}/user/register`, { mobile, password: "secret123" });
			expect(res.status).toBe(200);
			expect(res.body).toMatchObject({ code: 200, msg: "OK" });
			const { accessToken, accessExpire, refreshAfter } = res.body.data;
			expect(typeof accessToken).toBe("string");
			expect(accessExpire).toBeGreaterThanOrEqual(before + 3600);
			expect(accessExpire).toBeLessThanOrEqual(before + 3602);
			expect(refreshAfter).toBeGreaterThanOrEqual(before + 1800);
			expect(refreshAfter).toBeLessThan(accessExpire);

			const [rows] = await sys.db.query("SELECT password FROM `user` WHERE mobile = ?", { replacements: [mobile] });
			const stored = (rows as Array<{ password: string }>)[0].password;
			expect(stored).toMatch(/^\$argon2id\$/);
			expect(stored).not.toContain("secret123");
		});

		it("refuses a mobile number that is already registered with 409, writing nothing", async () => {
			const { mobile } = await registerUser(api);
			const users = await countRows(sys.db, "user");
			const res = await api.post(`${U}/user/register`, { mobile, password: "another-pass" });
			expect(res.status).toBe(409);
			expect(res.body).toEqual({ code: 200001, msg: "this mobile number is already registered" });
			expect(await countRows(sys.db, "user")).toBe(users);
		});

		it("allows only one of many concurrent registrations of one number", async () => {
			const mobile = newMobile();
			const results = await Promise.all(Array.from({ length: 6 }, () => api.post(`${U}/user/register`, { mobile, password: "secret123" })));
			expect(results.filter(r => r.status === 200)).toHaveLength(1);
			expect(results.filter(r => r.status === 409)).toHaveLength(5);
			const [rows] = await sys.db.query("SELECT COUNT(*) AS n FROM `user` WHERE mobile = ?", { replacements: [mobile] });
			expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(1);
		});

		it.each([
			["mobile", { password: "secret123" }],
			["mobile", { mobile: "1380013800", password: "secret123" }],
			["mobile", { mobile: "138001380001", password: "secret123" }],
			["mobile", { mobile: "1380013800a", password: "secret123" }],
			["mobile", { mobile: 13800138000, password: "secret123" }],
			["password", { mobile: "13800138000" }],
			["password", { mobile: "13800138000", password: "" }],
			["password", { mobile: "13800138000", password: "12345" }],
			["password", { mobile: "13800138000", password: "x".repeat(65) }],
		])("rejects a bad %s with 400 naming it, writing nothing (%j)", async (field, body) => {
			const users = await countRows(sys.db, "user");
			const res = await api.post(`${U}/user/register`, body);
			expect(res.status).toBe(400);
			expect(res.body.code).toBe(100002);
			expect(res.body.msg).toContain(`'${field}'`);
			expect(await countRows(sys.db, "user")).toBe(users);
		});

		it("rejects a body that is not JSON, and one over the size limit", async () => {
			const bad = await api.post(`${U}/user/register`, "{not json");
			expect(bad.status).toBe(400);
			expect(bad.body).toEqual({ code: 100002, msg: "request body is not valid JSON" });

			const huge = await api.post(`${U}/user/register`, { mobile: "13800138000", password: "x".repeat(100_000) });
			expect(huge.status).toBe(413);
			expect(huge.body.code).toBe(100012);
		});
	});

	describe("login", () => {
		it("answers a token for the right password and 401 for a wrong one or an unknown number, alike", async () => {
			const { mobile } = await registerUser(api);
			const ok = await api.post(`${U}/user/login`, { mobile, password: "secret123" });
			expect(ok.status).toBe(200);
			expect(Object.keys(ok.body.data).sort()).toEqual(["accessExpire", "accessToken", "refreshAfter"]);

			const wrong = await api.post(`${U}/user/login`, { mobile, password: "wrong-pass" });
			const unknown = await api.post(`${U}/user/login`, { mobile: newMobile(), password: "secret123" });
			expect(wrong.status).toBe(401);
			expect(unknown.status).toBe(401);
			expect(wrong.body).toEqual({ code: 200002, msg: "wrong mobile number or password" });
			expect(unknown.body).toEqual(wrong.body);
		});

		it("limits failed attempts per mobile number with 429 and Retry-After; successes do not count", async () => {
			const { mobile } = await registerUser(api);
			for (let i = 0; i < 5; i++) {
				expect((await api.post(`${U}/user/login`, { mobile, password: "secret123" })).status).toBe(200);
			}
			for (let i = 0; i < 3; i++) {
				expect((await api.post(`${U}/user/login`, { mobile, password: "bad-guess" })).status).toBe(401);
			}
			const limited = await api.post(`${U}/user/login`, { mobile, password: "secret123" });
			expect(limited.status).toBe(429);
			expect(limited.body.code).toBe(100009);
			expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
			// Another number from the same client is not affected.
			const other = await registerUser(api);
			expect((await api.post(`${U}/user/login`, { mobile: other.mobile, password: "secret123" })).status).toBe(200);
		});

		it("rejects bad input with 400", async () => {
			const res = await api.post(`${U}/user/login`, { mobile: "123", password: "secret123" });
			expect(res.status).toBe(400);
			expect(res.body.msg).toContain("'mobile'");
		});
	});

	describe("tokens", () => {
		it("answers 401 without a token, with a malformed, forged, expired or orphaned one", async () => {
			const detail = (token?: string, headers?: Record<string, string>) => api.request("POST", `${U}/user/detail`, {}, token, headers);
			expect((await detail()).status).toBe(401);
			expect((await detail(undefined, { Authorization: "Token abc" })).status).toBe(401);
			expect((await detail("not.a.jwt")).status).toBe(401);

			const { id } = await registerUser(api);
			const forged = issueToken(id, "some-other-secret", 3600).accessToken;
			expect((await detail(forged)).status).toBe(401);
			const expired = issueToken(id, "test-secret", 60, Math.floor(Date.now() / 1000) - 3600).accessToken;
			const res = await detail(expired);
			expect(res.status).toBe(401);
			expect(res.body.code).toBe(100003);
			const orphan = issueToken(987654321, "test-secret", 3600).accessToken;
			expect((await detail(orphan)).status).toBe(401);
		});

		it("resolves many new tokens at the same moment, each on its own: a bad one spoils none of the others", async () => {
			const users = await Promise.all(Array.from({ length: 3 }, () => registerUser(api)));
			const lotteryId = await createLottery(api, users[0].token);
			// Fresh tokens the gateway has not met: several per user, so they go to users.resolveTokens together.
			const good = users.flatMap(u => [1, 2, 3].map(i => ({ id: u.id, token: issueToken(u.id, "test-secret", 600 + i).accessToken })));
			const bad = [
				issueToken(users[0].id, "some-other-secret", 3600).accessToken,
				issueToken(users[1].id, "test-secret", 60, Math.floor(Date.now() / 1000) - 3600).accessToken,
				issueToken(987654321, "test-secret", 3600).accessToken,
				"x".repeat(5000),
			];
			const [goodAnswers, badAnswers, anonymous] = await Promise.all([
				Promise.all(good.map(g => api.post(`${U}/user/detail`, {}, g.token))),
				Promise.all(bad.map(t => api.post(`${U}/user/detail`, {}, t))),
				// Where a token is optional, a bad one is no token at all.
				Promise.all(bad.map(t => api.post("/lottery/v1/lottery/lotteryDetail", { id: lotteryId }, t))),
			]);
			expect(goodAnswers.map(r => [r.status, r.body.data?.userInfo?.id])).toEqual(good.map(g => [200, g.id]));
			expect(badAnswers.map(r => r.status)).toEqual([401, 401, 401, 401]);
			expect(badAnswers[3].body.msg).toContain("longer than 4096");
			expect(anonymous.map(r => r.status)).toEqual([200, 200, 200, 200]);
		});

		it("refreshes a valid token into a new one that works", async () => {
			const { token } = await registerUser(api);
			const res = await api.post(`${U}/user/refreshToken`, {}, token);
			expect(res.status).toBe(200);
			expect(res.body.data.accessExpire).toBeGreaterThan(Math.floor(Date.now() / 1000));
			expect((await api.post(`${U}/user/detail`, {}, res.body.data.accessToken)).status).toBe(200);
			expect((await api.post(`${U}/user/refreshToken`, {})).status).toBe(401);
		});
	});

	describe("detail and update", () => {
		it("shows the caller's user with every field of go-lottery's User", async () => {
			const { token, id, mobile } = await registerUser(api);
			const res = await api.post(`${U}/user/detail`, {}, token);
			expect(res.status).toBe(200);
			expect(res.body.data.userInfo).toEqual({
				id, mobile, nickname: `用户${mobile.slice(-4)}`, sex: 0, avatar: "", info: "", isAdmin: 0, signature: "",
				locationName: "", longitude: 0, latitude: 0, participation_count: 0, created_count: 0, won_count: 0,
			});
		});

		it("updates the given fields and the next read shows them (the cache was cleaned)", async () => {
			const { token } = await registerUser(api);
			await api.post(`${U}/user/detail`, {}, token); // warm the cache
			const res = await api.put(`${U}/user/update`, { nickname: "小明🎉", sex: 1, avatar: "https://a/b.png", info: "hi", signature: "sig", longitude: 121.47, latitude: 31.23 }, token);
			expect(res.status).toBe(200);
			expect(res.body).toEqual({ code: 200, msg: "OK", data: {} });
			for (let i = 0; i < 4; i++) {
				const after = await api.post(`${U}/user/detail`, {}, token);
				expect(after.body.data.userInfo).toMatchObject({ nickname: "小明🎉", sex: 1, avatar: "https://a/b.png", info: "hi", signature: "sig", longitude: 121.47, latitude: 31.23 });
			}
			const partial = await api.put(`${U}/user/update`, { info: "only info" }, token);
			expect(partial.status).toBe(200);
			const after = await api.post(`${U}/user/detail`, {}, token);
			expect(after.body.data.userInfo).toMatchObject({ nickname: "小明🎉", info: "only info" });
		});

		it.each([
			["sex", { sex: 3 }],
			["latitude", { latitude: 90.5 }],
			["longitude", { longitude: -181 }],
			["nickname", { nickname: "n".repeat(256) }],
			["nickname", { nickname: "   " }],
			["signature", { signature: "s".repeat(201) }],
		])("rejects a bad %s with 400 and changes nothing", async (field, body) => {
			const { token } = await registerUser(api);
			const before = (await api.post(`${U}/user/detail`, {}, token)).body.data.userInfo;
			const res = await api.put(`${U}/user/update`, body, token);
			expect(res.status).toBe(400);
			expect(res.body.msg).toContain(`'${field}'`);
			expect((await api.post(`${U}/user/detail`, {}, token)).body.data.userInfo).toEqual(before);
		});

		it("needs a token to update", async () => {
			expect((await api.put(`${U}/user/update`, { nickname: "x" })).status).toBe(401);
		});
	});

	describe("sponsors", () => {
		const sponsor = { userId: 0, type: 3, appletType: 1, isShow: 1, name: "Acme", desc: "we sponsor", avatar: "https://a/s.png", qr_code: "https://a/q.png", inputA: "pages/index", inputB: "wx123" };

		it("adds, lists (mine, paged), shows publicly, updates and deletes — owner only", async () => {
			const owner = await registerUser(api);
			const other = await registerUser(api);
			const ids: number[] = [];
			for (let i = 0; i < 3; i++) {
				const res = await api.post(`${U}/userSponsor/addSponsor`, { ...sponsor, name: `Acme ${i}` }, owner.token);
				expect(res.status).toBe(200);
				ids.push(res.body.data.id);
			}
			await api.post(`${U}/userSponsor/addSponsor`, { ...sponsor, name: "Other's" }, other.token);

			const page1 = await api.post(`${U}/userSponsor/sponsorList`, { page: 1, pageSize: 2 }, owner.token);
			expect(page1.body.data.list.map((s: { id: number }) => s.id)).toEqual([ids[2], ids[1]]);
			const page2 = await api.post(`${U}/userSponsor/sponsorList`, { page: 2, pageSize: 2 }, owner.token);
			expect(page2.body.data.list.map((s: { id: number }) => s.id)).toEqual([ids[0]]);
			expect(page1.body.data.list[0]).toEqual({ ...sponsor, id: ids[2], userId: owner.id, name: "Acme 2" });

			const detail = await api.post(`${U}/userSponsor/sponsorDetail`, { id: ids[0] });
			expect(detail.status).toBe(200);
			expect(detail.body.data).toMatchObject({ id: ids[0], userId: owner.id, qr_code: "https://a/q.png" });

			const stolen = await api.post(`${U}/userContact/upDateSponsor`, { id: ids[0], name: "mine now" }, other.token);
			expect(stolen.status).toBe(403);
			expect(stolen.body.code).toBe(100008);
			const deletedByOther = await api.post(`${U}/userContact/sponsorDel`, { id: ids[0] }, other.token);
			expect(deletedByOther.status).toBe(403);
			expect((await api.post(`${U}/userSponsor/sponsorDetail`, { id: ids[0] })).body.data.name).toBe("Acme 0");

			const updated = await api.post(`${U}/userContact/upDateSponsor`, { ...sponsor, id: ids[0], name: "Acme renamed", isShow: 2 }, owner.token);
			expect(updated.status).toBe(200);
			expect((await api.post(`${U}/userSponsor/sponsorDetail`, { id: ids[0] })).body.data).toMatchObject({ name: "Acme renamed", isShow: 2 });

			expect((await api.post(`${U}/userContact/sponsorDel`, { id: ids[0] }, owner.token)).status).toBe(200);
			const gone = await api.post(`${U}/userSponsor/sponsorDetail`, { id: ids[0] });
			expect(gone.status).toBe(404);
			expect(gone.body.code).toBe(100007);
			expect((await api.post(`${U}/userContact/sponsorDel`, { id: ids[0] }, owner.token)).status).toBe(404);
		});

		it("caps pageSize and treats page 0 as the first page", async () => {
			const owner = await registerUser(api);
			for (let i = 0; i < 3; i++) await api.post(`${U}/userSponsor/addSponsor`, { ...sponsor, name: `S${i}` }, owner.token);
			const res = await api.post(`${U}/userSponsor/sponsorList`, { page: 0, pageSize: 5000 }, owner.token);
			expect(res.status).toBe(200);
			expect(res.body.data.list).toHaveLength(3);
		});

		it.each([
			["name", { ...sponsor, name: "" }],
			["name", { ...sponsor, name: undefined }],
			["type", { ...sponsor, type: 9 }],
			["appletType", { ...sponsor, appletType: "x" }],
			["qr_code", { ...sponsor, qr_code: "q".repeat(256) }],
		])("rejects a bad %s with 400 and writes nothing", async (field, body) => {
			const owner = await registerUser(api);
			const before = await countRows(sys.db, "user_sponsor");
			const res = await api.post(`${U}/userSponsor/addSponsor`, body, owner.token);
			expect(res.status).toBe(400);
			expect(res.body.msg).toContain(`'${field}'`);
			expect(await countRows(sys.db, "user_sponsor")).toBe(before);
		});

		it("needs a token to add, list, update or delete", async () => {
			for (const p of ["/userSponsor/addSponsor", "/userSponsor/sponsorList", "/userContact/upDateSponsor", "/userContact/sponsorDel"]) {
				expect((await api.post(`${U}${p}`, { ...sponsor, id: 1 })).status).toBe(401);
			}
		});
	});

	describe("the gateway", () => {
		it("publishes only its aliases: internal actions and moleculer-db's CRUD are unreachable", async () => {
			const { token } = await registerUser(api);
			for (const p of ["/usercenter/v1/user/resolveToken", "/usercenter/v1/user/get", "/api/users/get", "/users/list", "/users.get", "/~node/list"]) {
				const res = await api.post(p, { token, id: 1 }, token);
				expect(res.status).toBe(404);
				expect(res.body.code).toBe(100007);
			}
			expect((await api.get(`${U}/user/register`)).status).toBe(404);
		});

		it("tags every response with a request id, keeping a well-formed one the client sent", async () => {
			const res = await api.get("/live");
			expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
			const mine = await api.request("POST", `${U}/user/login`, { mobile: "1", password: "x" }, undefined, { "X-Request-ID": "trace-42" });
			expect(mine.headers.get("x-request-id")).toBe("trace-42");
			const evil = await api.request("POST", `${U}/user/login`, { mobile: "1", password: "x" }, undefined, { "X-Request-ID": "bad id with spaces <script>" });
			expect(evil.headers.get("x-request-id")).not.toContain("bad id");
		});

		it("answers CORS preflights", async () => {
			const res = await api.request("OPTIONS", `${U}/user/login`, undefined, undefined, {
				Origin: "https://app.example",
				"Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "content-type,authorization",
			});
			expect(res.status).toBeLessThan(300);
			expect(res.headers.get("access-control-allow-origin")).toBeTruthy();
			expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
		});

		it("is live and ready", async () => {
			expect((await api.get("/live")).body).toEqual({ status: "ok" });
			const ready = await api.get("/ready");
			expect(ready.status).toBe(200);
			expect(ready.body.checks).toMatchObject({ broker: true, services: { users: true } });
		});

		it("never shows a client SQL or a stack trace", async () => {
			const { token } = await registerUser(api);
			await sys.db.query("ALTER TABLE user_sponsor RENAME TO user_sponsor_away");
			try {
				const res = await api.post(`${U}/userSponsor/sponsorList`, {}, token);
				expect(res.status).toBe(500);
				expect(res.body).toEqual({ code: 100001, msg: "internal server error" });
			} finally {
				await sys.db.query("ALTER TABLE user_sponsor_away RENAME TO user_sponsor");
			}
		});
	});
});
