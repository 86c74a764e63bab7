import { createLottery, L, nowSec, P, prize, recordWinners } from "../support/lottery";
import { client, registerUser, startSystem, type Client, type TestSystem } from "../support/system";

describe(`prize fulfilment through the gateway (${process.env.TEST_BACKEND})`, () => {
	let sys: TestSystem;
	let api: Client;

	beforeAll(async () => {
		sys = await startSystem();
		api = client(sys.baseUrl);
	});
	afterAll(() => sys?.stop());

	/** A drawn lottery: prize level 1 shipped (grantType 1), level 2 "contact me" (2), level 3 "fill in" (3). */
	async function drawnLottery() {
		const owner = await registerUser(api);
		const players = await Promise.all(Array.from({ length: 4 }, () => registerUser(api)));
		const id = await createLottery(api, owner.token, { prizes: [prize(1, { grantType: 1 }), prize(2, { grantType: 2 }), prize(3, { grantType: 3 })] });
		for (const p of players) await api.post(`${L}/participation`, { lotteryId: id }, p.token);
		const prizes = (await api.post(`${L}/lotteryDetail`, { id })).body.data.prizes;
		await recordWinners(sys.db, id, [
			{ userId: players[0].id, prizeId: prizes[0].id },
			{ userId: players[1].id, prizeId: prizes[1].id },
			{ userId: players[2].id, prizeId: prizes[2].id },
		]);
		return { id, owner, winners: players.slice(0, 3), loser: players[3], prizes };
	}

	it("lets a winner claim with what the grant type needs, once", async () => {
		const { id, winners } = await drawnLottery();
		const shipped = winners[0];
		const missing = await api.post(`${P}/claimPrize`, { lotteryId: id, contactName: "Li Lei", contactPhone: "13800000000" }, shipped.token);
		expect(missing.status).toBe(400);
		expect(missing.body.msg).toContain("'address'");

		const ok = await api.post(`${P}/claimPrize`, { lotteryId: id, contactName: "Li Lei", contactPhone: "13800000000", address: "1 Road, Shanghai" }, shipped.token);
		expect(ok.status).toBe(200);
		expect(ok.body.data.id).toBeGreaterThan(0);
		const twice = await api.post(`${P}/claimPrize`, { lotteryId: id, contactName: "Li Lei", contactPhone: "13800000000", address: "elsewhere" }, shipped.token);
		expect(twice.status).toBe(409);
		expect(twice.body.code).toBe(500031);

		expect((await api.post(`${P}/claimPrize`, { lotteryId: id }, winners[1].token)).body.msg).toContain("'contactPhone'");
		expect((await api.post(`${P}/claimPrize`, { lotteryId: id, contactPhone: "wx-lilei" }, winners[1].token)).status).toBe(200);
		expect((await api.post(`${P}/claimPrize`, { lotteryId: id, contactPhone: "x" }, winners[2].token)).body.msg).toContain("'remark'");
		expect((await api.post(`${P}/claimPrize`, { lotteryId: id, remark: "size M" }, winners[2].token)).status).toBe(200);
	});

	it("refuses people who did not win, and everyone after the award deadline", async () => {
		const { id, owner, winners, loser } = await drawnLottery();
		const res = await api.post(`${P}/claimPrize`, { lotteryId: id, contactPhone: "1" }, loser.token);
		expect(res.status).toBe(403);
		expect(res.body.code).toBe(500030);
		expect((await api.post(`${P}/claimPrize`, { lotteryId: id, contactPhone: "1" }, owner.token)).status).toBe(403);
		expect((await api.post(`${P}/claimPrize`, { lotteryId: id, contactPhone: "1" })).status).toBe(401);

		await sys.db.query("UPDATE lottery SET award_deadline = ? WHERE id = ?", { replacements: [nowSec() - 1, id] });
		await Promise.all(sys.brokers.map(b => b.cacher?.clean()));
		const late = await api.post(`${P}/claimPrize`, { lotteryId: id, contactPhone: "wx" }, winners[1].token);
		expect(late.status).toBe(410);
		expect(late.body.code).toBe(500032);
	});

	it("shows the creator every winner with the claim's status, and lets the creator mark claims delivered", async () => {
		const { id, owner, winners } = await drawnLottery();
		const claimId = (await api.post(`${P}/claimPrize`, { lotteryId: id, contactName: "Han Meimei", contactPhone: "13900000000", address: "2 Street" }, winners[0].token)).body.data.id;

		expect((await api.post(`${P}/claimList`, { lotteryId: id }, winners[0].token)).status).toBe(403);
		expect((await api.post(`${P}/deliverPrize`, { claimId }, winners[0].token)).status).toBe(403);

		const list = await api.post(`${P}/claimList`, { lotteryId: id, pageIndex: 1, pageSize: 10 }, owner.token);
		expect(list.status).toBe(200);
		expect(list.body.data.count).toBe(3);
		const byUser = new Map(list.body.data.list.map((c: any) => [c.userId, c]));
		expect(byUser.get(winners[0].id)).toMatchObject({ claimId, status: "claimed", contactName: "Han Meimei", address: "2 Street", prize: { level: 1, grant_type: 1 } });
		expect(byUser.get(winners[1].id)).toMatchObject({ claimId: 0, status: "unclaimed" });

		const delivered = await api.post(`${P}/deliverPrize`, { claimId, note: "SF1234567" }, owner.token);
		expect(delivered.status).toBe(200);
		const again = await api.post(`${P}/deliverPrize`, { claimId }, owner.token);
		expect(again.status).toBe(409);
		expect(again.body.code).toBe(500033);
		expect((await api.post(`${P}/deliverPrize`, { claimId: 99999999 }, owner.token)).status).toBe(404);

		await sys.db.query("UPDATE lottery SET award_deadline = ? WHERE id = ?", { replacements: [nowSec() - 1, id] });
		await Promise.all(sys.brokers.map(b => b.cacher?.clean()));
		const after = await api.post(`${P}/claimList`, { lotteryId: id, pageIndex: 1, pageSize: 10 }, owner.token);
		const statuses = new Map(after.body.data.list.map((c: any) => [c.userId, c.status]));
		expect(statuses.get(winners[0].id)).toBe("delivered");
		expect(statuses.get(winners[1].id)).toBe("forfeited");
		expect(after.body.data.list.find((c: any) => c.userId === winners[0].id).deliveryNote).toBe("SF1234567");

		const page2 = await api.post(`${P}/claimList`, { lotteryId: id, pageIndex: 2, pageSize: 2 }, owner.token);
		expect(page2.body.data.list).toHaveLength(1);
	});

	it("delivers a claim once when the creator clicks twice at once", async () => {
		const { id, owner, winners } = await drawnLottery();
		const claimId = (await api.post(`${P}/claimPrize`, { lotteryId: id, contactPhone: "wx" }, winners[1].token)).body.data.id;
		const results = await Promise.all(Array.from({ length: 4 }, () => api.post(`${P}/deliverPrize`, { claimId }, owner.token)));
		expect(results.filter(r => r.status === 200)).toHaveLength(1);
	});
});
