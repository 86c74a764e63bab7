import type { Context } from "moleculer";
import type { Sequelize } from "sequelize";
import { issueToken } from "../../domain/token";
import { packedTransactions } from "../../lib/database";
import { createLottery, flushCaches, L, lotteryBody, nowSec, prize, recordWinners } from "../support/lottery";
import { client, countRows, registerUser, startSystem, type Client, type TestSystem } from "../support/system";

describe(`lottery service through the gateway (${process.env.TEST_BACKEND})`, () => {
	let sys: TestSystem;
	let api: Client;
	const events: Array<{ name: string; params: any }> = [];

	beforeAll(async () => {
		sys = await startSystem();
		api = client(sys.baseUrl);
		// Listens where the draw service will: on another node in the cluster.
		sys.gateway.createService({
			name: "event-probe",
			events: {
				"lottery.*"(ctx: Context) {
					events.push({ name: ctx.eventName ?? "", params: ctx.params });
				},
			},
		});
		await sys.gateway.waitForServices("event-probe");
		await new Promise(r => setTimeout(r, 300)); // let the other nodes learn about the probe
	});
	afterAll(() => sys?.stop());

	describe("createLottery", () => {
		it("publishes a lottery with its prizes, named after the first prize by default", async () => {
			const owner = await registerUser(api);
			const body = lotteryBody({ prizes: [prize(2, { name: "Mug", count: 3 }), prize(1, { name: "Phone", grantType: 2 })] });
			const res = await api.post(`${L}/createLottery`, body, owner.token);
			expect(res.status).toBe(200);
			const id = res.body.data.id;
			const detail = await api.post(`${L}/lotteryDetail`, { id });
			expect(detail.status).toBe(200);
			expect(detail.body.data).toMatchObject({
				id, userId: owner.id, name: "Phone", thumb: "https://img/p1.png", joinNumber: 0, introduce: "a test lottery",
				awardDeadline: body.awardDeadline, isSelected: 0, announceType: 1, announceTime: body.announceTime, isAnnounced: 0,
				sponsorId: 0, sponsor: null, isParticipated: 0, state: "open",
			});
			expect(detail.body.data.publishTime).toBeGreaterThanOrEqual(nowSec() - 5);
			expect(detail.body.data.prizes.map((p: any) => [p.level, p.name, p.count, p.grantType])).toEqual([[1, "Phone", 1, 2], [2, "Mug", 3, 1]]);
			expect(detail.body.data.prizes[0]).toMatchObject({ lotteryId: id, type: 1, thumb: "https://img/p1.png" });
			expect(events.some(e => e.name === "lottery.published" && e.params.lotteryId === id)).toBe(true);
		});

		it("shows the sponsor, and null once the sponsor is gone", async () => {
			const owner = await registerUser(api);
			const sponsorId = (await api.post("/usercenter/v1/userSponsor/addSponsor", { type: 1, appletType: 0, isShow: 1, name: "Acme", desc: "d", avatar: "a", qr_code: "q", inputA: "", inputB: "" }, owner.token)).body.data.id;
			const id = await createLottery(api, owner.token, { sponsorId });
			const detail = await api.post(`${L}/lotteryDetail`, { id });
			expect(detail.body.data.sponsor).toEqual({ id: sponsorId, userId: owner.id, type: 1, appletType: 0, name: "Acme", desc: "d", avatar: "a", isShow: 1, qrCode: "q", inputA: "", inputB: "" });
			// Anonymous visitors share one cached answer: a sponsor's edit must reach it at once.
			expect((await api.post("/usercenter/v1/userContact/upDateSponsor", { id: sponsorId, name: "Acme Two" }, owner.token)).status).toBe(200);
			expect((await api.post(`${L}/lotteryDetail`, { id })).body.data.sponsor.name).toBe("Acme Two");
			await api.post("/usercenter/v1/userContact/sponsorDel", { id: sponsorId }, owner.token);
			const after = await api.post(`${L}/lotteryDetail`, { id });
			expect(after.status).toBe(200);
			expect(after.body.data.sponsor).toBeNull();
		});

		it("refuses someone else's sponsor", async () => {
			const other = await registerUser(api);
			const theirs = (await api.post("/usercenter/v1/userSponsor/addSponsor", { name: "Theirs" }, other.token)).body.data.id;
			const me = await registerUser(api);
			const res = await api.post(`${L}/createLottery`, lotteryBody({ sponsorId: theirs }), me.token);
			expect(res.status).toBe(400);
			expect(res.body.msg).toContain("'sponsorId'");
		});

		const t = () => nowSec();
		it.each([
			["prizes", () => ({ prizes: [] })],
			["count", () => ({ prizes: [prize(1, { count: 0 })] })],
			["level", () => ({ prizes: [prize(1), prize(3)] })],
			["level", () => ({ prizes: [prize(1), prize(1)] })],
			["announceTime", () => ({ announceTime: t() - 10 })],
			["announceTime", () => ({ announceType: 2, joinNumber: 5, announceTime: 0 })],
			["joinNumber", () => ({ announceType: 2, joinNumber: 0 })],
			["awardDeadline", () => ({ awardDeadline: t() + 60 })],
			["announceType", () => ({ announceType: 4 })],
			["announceType", () => ({ announceType: undefined })],
			["name", () => ({ name: "n".repeat(51) })],
			["prizes[0].name", () => ({ prizes: [prize(1, { name: "p".repeat(51) })] })],
			["probability", () => ({ announceType: 3, prizes: [prize(1, { probability: 6000 }), prize(2, { probability: 5000 })] })],
			["grantType", () => ({ prizes: [prize(1, { grantType: 7 })] })],
		])("rejects a bad %s with 400 naming it, writing nothing", async (field, override) => {
			const owner = await registerUser(api);
			const [lotteries, prizes] = [await countRows(sys.db, "lottery"), await countRows(sys.db, "lottery_prize")];
			const res = await api.post(`${L}/createLottery`, lotteryBody(override()), owner.token);
			expect(res.status).toBe(400);
			expect(res.body.code).toBe(100002);
			expect(res.body.msg).toContain(field);
			expect(await countRows(sys.db, "lottery")).toBe(lotteries);
			expect(await countRows(sys.db, "lottery_prize")).toBe(prizes);
		});

		it("writes the lottery and its prizes in one transaction: a failed prize write leaves no lottery", async () => {
			const owner = await registerUser(api);
			const lotteries = await countRows(sys.db, "lottery");
			await sys.db.query("ALTER TABLE lottery_prize RENAME TO lottery_prize_away");
			try {
				const res = await api.post(`${L}/createLottery`, lotteryBody(), owner.token);
				expect(res.status).toBe(500);
				expect(res.body).toEqual({ code: 100001, msg: "internal server error" });
			} finally {
				await sys.db.query("ALTER TABLE lottery_prize_away RENAME TO lottery_prize");
			}
			expect(await countRows(sys.db, "lottery")).toBe(lotteries);
		});

		it("needs a token", async () => {
			expect((await api.post(`${L}/createLottery`, lotteryBody())).status).toBe(401);
		});
	});

	describe("drafts", () => {
		it("are seen, changed and published by their creator only", async () => {
			const owner = await registerUser(api);
			const other = await registerUser(api);
			const id = await createLottery(api, owner.token, { publishType: 2, name: "Secret" });

			expect((await api.post(`${L}/lotteryDetail`, { id })).status).toBe(404);
			expect((await api.post(`${L}/lotteryDetail`, { id }, other.token)).status).toBe(404);
			expect((await api.post(`${L}/lotteryDetail`, { id }, owner.token)).body.data).toMatchObject({ state: "draft", publishTime: 0 });
			const listed = (await api.post(`${L}/lotteryList`, { lastId: 0, pageSize: 100 })).body.data.list.map((l: any) => l.id);
			expect(listed).not.toContain(id);
			expect((await api.post(`${L}/participation`, { lotteryId: id }, other.token)).status).toBe(404);
			expect((await api.post(`${L}/getUserCreatedLotteryList`, { lastId: 0, size: 10 }, owner.token)).body.data.list[0].id).toBe(id);

			expect((await api.post(`${L}/updateLottery`, { id, name: "Hijack" }, other.token)).status).toBe(404);
			expect((await api.post(`${L}/publishLottery`, { id }, other.token)).status).toBe(404);
			const badUpdate = await api.post(`${L}/updateLottery`, { id, prizes: [prize(2)] }, owner.token);
			expect(badUpdate.status).toBe(400);

			const upd = await api.post(`${L}/updateLottery`, { id, name: "Renamed", prizes: [prize(1, { name: "TV" }), prize(2, { count: 5 })] }, owner.token);
			expect(upd.status).toBe(200);
			const after = (await api.post(`${L}/lotteryDetail`, { id }, owner.token)).body.data;
			expect(after.name).toBe("Renamed");
			expect(after.prizes.map((p: any) => [p.level, p.name, p.count])).toEqual([[1, "TV", 1], [2, "Prize L2", 5]]);

			expect((await api.post(`${L}/publishLottery`, { id }, owner.token)).status).toBe(200);
			expect((await api.post(`${L}/lotteryDetail`, { id })).body.data.state).toBe("open");
			expect((await api.post(`${L}/lotteryList`, { lastId: 0, pageSize: 100 })).body.data.list.map((l: any) => l.id)).toContain(id);
			const again = await api.post(`${L}/updateLottery`, { id, name: "Too late" }, owner.token);
			expect(again.status).toBe(409);
			expect(again.body.code).toBe(500020);
			expect((await api.post(`${L}/publishLottery`, { id }, owner.token)).body.code).toBe(500020);
		});
	});

	describe("cancelling", () => {
		it("is the creator's, and only while nobody joined", async () => {
			const owner = await registerUser(api);
			const other = await registerUser(api);
			const empty = await createLottery(api, owner.token);
			expect((await api.post(`${L}/cancelLottery`, { id: empty }, other.token)).status).toBe(403);
			expect((await api.post(`${L}/cancelLottery`, { id: empty }, owner.token)).status).toBe(200);
			expect((await api.post(`${L}/lotteryDetail`, { id: empty })).body.data.state).toBe("cancelled");
			expect((await api.post(`${L}/lotteryList`, { pageSize: 100 })).body.data.list.map((l: any) => l.id)).not.toContain(empty);
			const join = await api.post(`${L}/participation`, { lotteryId: empty }, other.token);
			expect(join.status).toBe(409);
			expect(join.body.code).toBe(500021);

			const joined = await createLottery(api, owner.token);
			expect((await api.post(`${L}/participation`, { lotteryId: joined }, other.token)).status).toBe(200);
			const res = await api.post(`${L}/cancelLottery`, { id: joined }, owner.token);
			expect(res.status).toBe(409);
			expect(res.body.code).toBe(500024);
		});

		it("and a join racing a cancel: exactly one of them wins", async () => {
			const owner = await registerUser(api);
			const joiner = await registerUser(api);
			for (let i = 0; i < 5; i++) {
				const id = await createLottery(api, owner.token);
				const [cancel, join] = await Promise.all([
					api.post(`${L}/cancelLottery`, { id }, owner.token),
					api.post(`${L}/participation`, { lotteryId: id }, joiner.token),
				]);
				expect([cancel.status, join.status].filter(s => s === 200)).toHaveLength(1);
				const [rows] = await sys.db.query("SELECT state, (SELECT COUNT(*) FROM lottery_participation p WHERE p.lottery_id = lottery.id) AS n FROM lottery WHERE id = ?", { replacements: [id] });
				const row = (rows as Array<{ state: number; n: number }>)[0];
				expect(Number(row.state) === 3 ? Number(row.n) === 0 : Number(row.n) === 1).toBe(true);
			}
		});
	});

	describe("featuring", () => {
		it("is for operators only, and lotteryList can filter on it", async () => {
			const owner = await registerUser(api);
			const id = await createLottery(api, owner.token);
			expect((await api.post(`${L}/setLotterySelected`, { id, isSelected: 1 }, owner.token)).status).toBe(403);

			const reg = await api.post("/usercenter/v1/user/register", { mobile: "13911112222", password: "admin-pass" });
			await sys.db.query("UPDATE `user` SET is_admin = 1 WHERE mobile = '13911112222'");
			await flushCaches(sys);
			const adminToken = reg.body.data.accessToken;
			expect((await api.post(`${L}/setLotterySelected`, { id, isSelected: 1 }, adminToken)).status).toBe(200);
			const featured = (await api.post(`${L}/lotteryList`, { lastId: 0, pageSize: 100, isSelected: 1 })).body.data.list;
			expect(featured.map((l: any) => l.id)).toContain(id);
			expect(featured.every((l: any) => l.isSelected === 1)).toBe(true);
			expect((await api.post(`${L}/lotteryDetail`, { id })).body.data.isSelected).toBe(1);
		});
	});

	describe("lists", () => {
		it("pages open lotteries newest first, by cursor and by page, capping pageSize", async () => {
			const owner = await registerUser(api);
			const ids: number[] = [];
			for (let i = 0; i < 5; i++) ids.push(await createLottery(api, owner.token));
			const top = (await api.post(`${L}/lotteryList`, { lastId: 0, pageSize: 2, isSelected: 0 })).body.data.list;
			expect(top.map((l: any) => l.id)).toEqual([ids[4], ids[3]]);
			const next = (await api.post(`${L}/lotteryList`, { lastId: ids[3], pageSize: 2, isSelected: 0 })).body.data.list;
			expect(next.map((l: any) => l.id)).toEqual([ids[2], ids[1]]);
			expect(Object.keys(top[0]).sort()).toEqual(["announceTime", "announceType", "awardDeadline", "id", "introduce", "isAnnounced", "isSelected", "joinNumber", "name", "publishTime", "sponsorId", "thumb", "userId"]);

			const page1 = (await api.post(`${L}/lotteryListSlow`, { pageIndex: 1, pageSize: 2, isSelected: 0 })).body.data.list;
			const page2 = (await api.post(`${L}/lotteryListSlow`, { pageIndex: 2, pageSize: 2, isSelected: 0 })).body.data.list;
			expect(page1.map((l: any) => l.id)).toEqual([ids[4], ids[3]]);
			expect(page2.map((l: any) => l.id)).toEqual([ids[2], ids[1]]);

			for (let i = 0; i < 100; i++) await sys.db.query("INSERT INTO lottery (user_id, name, state, announce_type, announce_time, award_deadline, create_time, update_time) VALUES (?, 'bulk', 1, 1, ?, ?, ?, ?)", { replacements: [owner.id, nowSec() + 3600, nowSec() + 9000, new Date(), new Date()] });
			await flushCaches(sys);
			expect((await api.post(`${L}/lotteryList`, { pageSize: 1000 })).body.data.list).toHaveLength(100);
		});

		it("after login, leaves out the lotteries the caller joined", async () => {
			const owner = await registerUser(api);
			const me = await registerUser(api);
			const a = await createLottery(api, owner.token);
			const b = await createLottery(api, owner.token);
			await api.post(`${L}/participation`, { lotteryId: b }, me.token);
			const mine = (await api.post(`${L}/lotteryListAfterLogin`, { lastId: 0, pageSize: 50 }, me.token)).body.data.list.map((l: any) => l.id);
			expect(mine).toContain(a);
			expect(mine).not.toContain(b);
			expect((await api.post(`${L}/lotteryListAfterLogin`, { lastId: 0, pageSize: 50 })).status).toBe(401);
		});
	});

	describe("joining", () => {
		it("once per user, enforced under concurrency, with go-lottery's 500028 for the repeat", async () => {
			const owner = await registerUser(api);
			const me = await registerUser(api);
			const id = await createLottery(api, owner.token);
			const results = await Promise.all(Array.from({ length: 8 }, () => api.post(`${L}/participation`, { lotteryId: id }, me.token)));
			expect(results.filter(r => r.status === 200)).toHaveLength(1);
			for (const r of results.filter(r => r.status !== 200)) expect(r.body).toEqual({ code: 500028, msg: "you have already joined this lottery" });
			const [rows] = await sys.db.query("SELECT COUNT(*) AS n FROM lottery_participation WHERE lottery_id = ?", { replacements: [id] });
			expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(1);
			expect((await api.post(`${L}/lotteryDetail`, { id }, me.token)).body.data.isParticipated).toBe(1);
			expect((await api.post(`${L}/lotteryDetail`, { id }, owner.token)).body.data.isParticipated).toBe(0);
		});

		it("counts every participant exactly when many join at once", async () => {
			const owner = await registerUser(api);
			const id = await createLottery(api, owner.token);
			const users = await Promise.all(Array.from({ length: 12 }, () => registerUser(api)));
			const results = await Promise.all(users.map(u => api.post(`${L}/participation`, { lotteryId: id }, u.token)));
			expect(results.every(r => r.status === 200)).toBe(true);
			const res = await api.post(`${L}/participations`, { lotteryId: id, pageIndex: 1, pageSize: 5 });
			expect(res.body.data.count).toBe(12);
			expect(res.body.data.list).toHaveLength(5);
			expect(res.body.data.list[0].mobile).toMatch(/^\d{3}\*{4}\d{4}$/);
		});

		it("takes many joins at once in shared transactions, each answered as if it were alone", async () => {
			const owner = await registerUser(api);
			const open = await createLottery(api, owner.token);
			const cancelled = await createLottery(api, owner.token);
			expect((await api.post(`${L}/cancelLottery`, { id: cancelled }, owner.token)).status).toBe(200);
			// 40 accounts straight into the table (40 argon2 registrations would only slow the test down).
			const stamp = new Date();
			const base = 18_000_000_000 + (Date.now() % 1_000_000) * 100;
			const users: Array<{ id: number; token: string }> = [];
			for (let i = 0; i < 40; i++) {
				await sys.db.query("INSERT INTO `user` (mobile, password, nickname, create_time, update_time) VALUES (?, '', ?, ?, ?)", { replacements: [String(base + i), `batch${i}`, stamp, stamp] });
				const [rows] = await sys.db.query("SELECT id FROM `user` WHERE mobile = ?", { replacements: [String(base + i)] });
				const userId = Number((rows as Array<{ id: number }>)[0].id);
				users.push({ id: userId, token: issueToken(userId, sys.config.jwtSecret, 600).accessToken });
			}
			const lottery = sys.brokers.map(b => b.getLocalService("lottery")).find(Boolean) as unknown as { joins: { batches: number; items: number } };
			const before = { batches: lottery.joins.batches, items: lottery.joins.items };

			// Every user joins the open lottery twice and the cancelled one once, all at the same moment.
			const calls = users.flatMap(u => [
				{ user: u.id, lottery: open, req: api.post(`${L}/participation`, { lotteryId: open }, u.token) },
				{ user: u.id, lottery: open, req: api.post(`${L}/participation`, { lotteryId: open }, u.token) },
				{ user: u.id, lottery: cancelled, req: api.post(`${L}/participation`, { lotteryId: cancelled }, u.token) },
			]);
			const results = await Promise.all(calls.map(async c => ({ ...c, res: await c.req })));

			for (const u of users) {
				const mine = results.filter(r => r.user === u.id && r.lottery === open);
				expect(mine.map(r => r.res.status).sort()).toEqual([200, 409]);
				expect(mine.find(r => r.res.status === 409)!.res.body.code).toBe(500028);
			}
			expect(results.filter(r => r.lottery === cancelled).every(r => r.res.status === 409 && r.res.body.code === 500021)).toBe(true);
			const [joined] = await sys.db.query("SELECT lottery_id AS lotteryId, COUNT(*) AS n FROM lottery_participation WHERE lottery_id IN (?) GROUP BY lottery_id", { replacements: [[open, cancelled]] });
			expect((joined as Array<{ lotteryId: number; n: number }>).map(r => [Number(r.lotteryId), Number(r.n)])).toEqual([[open, 40]]);
			// One outbox event per accepted join, no more.
			const [events] = await sys.db.query("SELECT aggregate_id AS id, COUNT(*) AS n FROM outbox WHERE type = 'participation.created' AND aggregate_id IN (?) GROUP BY aggregate_id", { replacements: [[String(open), String(cancelled)]] });
			expect((events as Array<{ id: string; n: number }>).map(e => [e.id, Number(e.n)])).toEqual([[String(open), 40]]);
			// And they did share transactions: fewer batches than joins that reached the writer.
			const batches = lottery.joins.batches - before.batches;
			const items = lottery.joins.items - before.items;
			expect(items).toBeGreaterThanOrEqual(80);
			expect(batches).toBeLessThan(items);
		});

		it("falls back to one transaction per join when two batches race for the same user, without losing anyone", async () => {
			const owner = await registerUser(api);
			const id = await createLottery(api, owner.token);
			const players = await Promise.all(Array.from({ length: 9 }, () => registerUser(api)));
			const lottery = sys.brokers.map(b => b.getLocalService("lottery")).find(Boolean) as unknown as {
				writeAtTimeJoins(items: Array<{ lotteryId: number; userId: number }>): Promise<Array<{ ok: boolean; error?: { type?: string } }>>;
			};
			const batch = (from: number, to: number) => players.slice(from, to).map(p => ({ lotteryId: id, userId: p.id }));
			// players[4] is in both batches: exactly one of them may take it.
			const [a, b] = await Promise.all([lottery.writeAtTimeJoins(batch(0, 5)), lottery.writeAtTimeJoins(batch(4, 9))]);
			const outcomes = [...a, ...b];
			expect(outcomes.filter(o => o.ok)).toHaveLength(9);
			expect(outcomes.filter(o => !o.ok).map(o => o.error?.type)).toEqual(["ALREADY_PARTICIPATED"]);
			expect(a[4].ok !== b[0].ok).toBe(true);
			const [rows] = await sys.db.query("SELECT COUNT(*) AS n FROM lottery_participation WHERE lottery_id = ?", { replacements: [id] });
			expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(9);
		});

		it("keeps a batch together when someone in it had joined before: the others go in, in one more transaction", async () => {
			const owner = await registerUser(api);
			const id = await createLottery(api, owner.token);
			const players = await Promise.all(Array.from({ length: 5 }, () => registerUser(api)));
			expect((await api.post(`${L}/participation`, { lotteryId: id }, players[2].token)).status).toBe(200);
			const lottery = sys.brokers.map(b => b.getLocalService("lottery")).find(Boolean) as unknown as {
				adapter: { db: Sequelize };
				writeAtTimeJoins(items: Array<{ lotteryId: number; userId: number }>): Promise<Array<{ ok: boolean; error?: { type?: string } }>>;
			};
			const packed = packedTransactions(lottery.adapter.db);
			const once = jest.spyOn(packed, "once");
			const twoStep = jest.spyOn(packed, "twoStep");
			try {
				const outcomes = await lottery.writeAtTimeJoins(players.map(p => ({ lotteryId: id, userId: p.id })));
				expect(outcomes.map(o => (o.ok ? "in" : o.error?.type))).toEqual(["in", "in", "ALREADY_PARTICIPATED", "in", "in"]);
				// One exchange refused by the unique key, then the careful two steps: not one transaction per join.
				expect(once).toHaveBeenCalledTimes(1);
				expect(twoStep).toHaveBeenCalledTimes(1);
			} finally {
				once.mockRestore();
				twoStep.mockRestore();
			}
			const [rows] = await sys.db.query("SELECT COUNT(*) AS n FROM lottery_participation WHERE lottery_id = ?", { replacements: [id] });
			expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(5);
			const [events] = await sys.db.query("SELECT COUNT(*) AS n FROM outbox WHERE type = 'participation.created' AND aggregate_id = ?", { replacements: [String(id)] });
			expect(Number((events as Array<{ n: number }>)[0].n)).toBe(5);
		});

		it("draws the line at joinNumber for type 2 and tells the draw service once", async () => {
			const owner = await registerUser(api);
			const id = await createLottery(api, owner.token, { announceType: 2, joinNumber: 3 });
			const users = await Promise.all(Array.from({ length: 5 }, () => registerUser(api)));
			const results = await Promise.all(users.map(u => api.post(`${L}/participation`, { lotteryId: id }, u.token)));
			expect(results.filter(r => r.status === 200)).toHaveLength(3);
			for (const r of results.filter(r => r.status !== 200)) expect(r.body.code).toBe(500023);
			await new Promise(r => setTimeout(r, 200));
			const reached = events.filter(e => e.name === "lottery.joinTargetReached" && e.params.lotteryId === id);
			expect(reached).toHaveLength(1);
			expect(reached[0].params.participantCount).toBe(3);
		});

		it("refuses instant lotteries (they have their own endpoint) and unknown ones", async () => {
			const owner = await registerUser(api);
			const id = await createLottery(api, owner.token, { announceType: 3, announceTime: 0 });
			const res = await api.post(`${L}/participation`, { lotteryId: id }, owner.token);
			expect(res.status).toBe(400);
			expect(res.body.code).toBe(500025);
			expect((await api.post(`${L}/participation`, { lotteryId: 99999999 }, owner.token)).status).toBe(404);
			expect((await api.post(`${L}/participation`, { lotteryId: "abc" }, owner.token)).status).toBe(400);
			expect((await api.post(`${L}/participation`, { lotteryId: id })).status).toBe(401);
		});

		it("cannot join a drawn lottery, however stale a cache is (go-lottery's 7-day window)", async () => {
			const owner = await registerUser(api);
			const late = await registerUser(api);
			const id = await createLottery(api, owner.token);
			// Every cache now says "open" ...
			expect((await api.post(`${L}/lotteryDetail`, { id })).body.data.isAnnounced).toBe(0);
			await api.post(`${L}/lotteryList`, { lastId: 0, pageSize: 10 });
			// ... and then the lottery is drawn behind the caches' back.
			await recordWinners(sys.db, id, []);
			const res = await api.post(`${L}/participation`, { lotteryId: id }, late.token);
			expect(res.status).toBe(409);
			expect(res.body.code).toBe(500022);
			expect(await countRows(sys.db, "lottery_participation")).toBeGreaterThan(0);
			const [rows] = await sys.db.query("SELECT COUNT(*) AS n FROM lottery_participation WHERE lottery_id = ?", { replacements: [id] });
			expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(0);
		});

		it("cannot join after the announce time", async () => {
			const owner = await registerUser(api);
			const id = await createLottery(api, owner.token);
			await sys.db.query("UPDATE lottery SET announce_time = ? WHERE id = ?", { replacements: [nowSec() - 1, id] });
			const res = await api.post(`${L}/participation`, { lotteryId: id }, owner.token);
			expect(res.status).toBe(409);
			// closed — or already drawn, if the draw service was quicker than this request
			expect([500023, 500022]).toContain(res.body.code);
		});
	});

	describe("after the draw", () => {
		it("lists my lotteries and my wins, the winners by prize level (masked), and counts them in users.detail", async () => {
			const owner = await registerUser(api);
			const id = await createLottery(api, owner.token, { prizes: [prize(2, { name: "Second", count: 2 }), prize(1, { name: "First" })] });
			const players = await Promise.all(Array.from({ length: 4 }, () => registerUser(api)));
			await api.put("/usercenter/v1/user/update", { nickname: "张三丰🎉" }, players[0].token);
			for (const p of players) expect((await api.post(`${L}/participation`, { lotteryId: id }, p.token)).status).toBe(200);
			const prizes = (await api.post(`${L}/lotteryDetail`, { id })).body.data.prizes;
			const [first, second] = prizes;
			await recordWinners(sys.db, id, [{ userId: players[0].id, prizeId: first.id }, { userId: players[1].id, prizeId: second.id }, { userId: players[2].id, prizeId: second.id }]);

			const winners = (await api.post(`${L}/getLotteryWinnersList`, { lotteryId: id })).body.data.list;
			expect(winners.map((w: any) => [w.prize.level, w.prize.name, w.winnerCount, w.users.length])).toEqual([[1, "First", 1, 1], [2, "Second", 2, 2]]);
			expect(winners[0].prize).toMatchObject({ lottery_id: id, grant_type: 1 });
			expect(winners[0].users[0].nickname).toBe("张**🎉");
			expect(winners[0].users[0].mobile).toBe(`${players[0].mobile.slice(0, 3)}****${players[0].mobile.slice(-4)}`);

			const mine = (await api.post(`${L}/getUserAllLotteryList`, { lastId: 0, size: 10 }, players[0].token)).body.data.list;
			expect(mine).toHaveLength(1);
			expect(mine[0]).toMatchObject({ lottery_id: id, user_id: players[0].id, is_won: 1, prize: { id: first.id, name: "First", level: 1 } });
			expect(mine[0].create_time).toBeGreaterThan(nowSec() - 60);
			const loser = (await api.post(`${L}/getUserAllLotteryList`, { lastId: 0, size: 10 }, players[3].token)).body.data.list;
			expect(loser[0]).toMatchObject({ is_won: 0, prize: null });
			expect((await api.post(`${L}/getLotteryWinList`, { lastId: 0, size: 10 }, players[3].token)).body.data.list).toEqual([]);
			expect((await api.post(`${L}/getLotteryWinList`, { lastId: 0, size: 10 }, players[1].token)).body.data.list[0].prize.name).toBe("Second");

			expect((await api.post("/usercenter/v1/user/detail", {}, players[0].token)).body.data.userInfo).toMatchObject({ participation_count: 1, won_count: 1, created_count: 0 });
			expect((await api.post("/usercenter/v1/user/detail", {}, owner.token)).body.data.userInfo).toMatchObject({ participation_count: 0, won_count: 0, created_count: 1 });
		});
	});
});
