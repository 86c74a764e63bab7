import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type { Context } from "moleculer";
import { seedCommitment } from "../../domain/draw";
import { verifyLottery } from "../../scripts/verify";
import { createLottery, flushCaches, L, nowSec, prize } from "../support/lottery";
import { client, registerUser, startSystem, type Client, type TestSystem } from "../support/system";

const run = promisify(execFile);
const root = path.resolve(__dirname, "../..");

describe(`draws through the gateway (${process.env.TEST_BACKEND})`, () => {
	let sys: TestSystem;
	let api: Client;
	const drawn: Array<{ lotteryId: number; winners: Array<{ userId: number; prizeId: number }>; at: number }> = [];

	beforeAll(async () => {
		// Three draw nodes in the cluster: every lottery must still be drawn exactly once.
		sys = await startSystem({ drawNodes: 3, env: { DRAW_POLL_MS: "200" } });
		api = client(sys.baseUrl);
		sys.gateway.createService({
			name: "drawn-probe",
			events: {
				"lottery.drawn"(ctx: Context<{ lotteryId: number; winners: Array<{ userId: number; prizeId: number }> }>) {
					drawn.push({ ...ctx.params, at: Date.now() });
				},
			},
		});
		await sys.gateway.waitForServices("drawn-probe");
		await new Promise(r => setTimeout(r, 300));
	});
	afterAll(() => sys?.stop());

	async function waitDrawn(lotteryId: number, ms = 6000) {
		const until = Date.now() + ms;
		while (Date.now() < until) {
			const hit = drawn.find(d => d.lotteryId === lotteryId);
			if (hit) return hit;
			await new Promise(r => setTimeout(r, 50));
		}
		throw new Error(`lottery ${lotteryId} was not drawn within ${ms} ms`);
	}

	async function players(n: number) {
		return Promise.all(Array.from({ length: n }, () => registerUser(api)));
	}

	it("draws type-1 lotteries within 2 s of their time, each exactly once across three draw nodes", async () => {
		const owner = await registerUser(api);
		const people = await players(6);
		const announceTime = nowSec() + 3;
		const ids: number[] = [];
		for (let i = 0; i < 4; i++) ids.push(await createLottery(api, owner.token, { announceTime, prizes: [prize(1), prize(2, { count: 2 })] }));
		for (const id of ids) for (const p of people.slice(0, 4 + (id % 3))) expect((await api.post(`${L}/participation`, { lotteryId: id }, p.token)).status).toBe(200);
		for (const id of ids) {
			const hit = await waitDrawn(id);
			expect(hit.at / 1000 - announceTime).toBeLessThan(2);
			expect(hit.winners).toHaveLength(3);
			expect(new Set(hit.winners.map(w => w.userId)).size).toBe(3);
		}
		await new Promise(r => setTimeout(r, 600)); // time for a second draw to show up, if there were one
		for (const id of ids) expect(drawn.filter(d => d.lotteryId === id)).toHaveLength(1);
		const detail = (await api.post(`${L}/lotteryDetail`, { id: ids[0] })).body.data;
		expect(detail).toMatchObject({ isAnnounced: 1, state: "announced" });
		const winners = (await api.post(`${L}/getLotteryWinnersList`, { lotteryId: ids[0] })).body.data.list;
		expect(winners.map((w: any) => w.winnerCount)).toEqual([1, 2]);
	});

	it("goes on with the other lotteries when one cannot be drawn", async () => {
		const owner = await registerUser(api);
		const people = await players(2);
		const broken = await createLottery(api, owner.token, { announceTime: nowSec() + 2 });
		const fine = await createLottery(api, owner.token, { announceTime: nowSec() + 2 });
		for (const p of people) {
			await api.post(`${L}/participation`, { lotteryId: broken }, p.token);
			await api.post(`${L}/participation`, { lotteryId: fine }, p.token);
		}
		await sys.db.query("UPDATE lottery SET seed = NULL WHERE id = ?", { replacements: [broken] });
		await waitDrawn(fine);
		await new Promise(r => setTimeout(r, 300));
		const [rows] = await sys.db.query("SELECT state, draw_error AS error, draw_attempts AS attempts FROM lottery WHERE id = ?", { replacements: [broken] });
		const row = (rows as Array<{ state: number; error: string; attempts: number }>)[0];
		expect(Number(row.state)).toBe(4);
		expect(row.error).toContain("no seed");
		expect(Number(row.attempts)).toBeGreaterThanOrEqual(1);
		expect(drawn.some(d => d.lotteryId === broken)).toBe(false);
	});

	it("draws a type-2 lottery within 2 s of its joinNumber-th participant", async () => {
		const owner = await registerUser(api);
		const people = await players(3);
		const id = await createLottery(api, owner.token, { announceType: 2, joinNumber: 3, prizes: [prize(1, { count: 5 })] });
		for (const p of people) await api.post(`${L}/participation`, { lotteryId: id }, p.token);
		const joinedAt = Date.now();
		const hit = await waitDrawn(id, 3000);
		expect(hit.at - joinedAt).toBeLessThan(2000);
		expect(hit.winners).toHaveLength(3); // min(5 prizes, 3 participants)
	});

	it("commits to a seed at publication, reveals it with a proof anyone can check, and catches tampering", async () => {
		const owner = await registerUser(api);
		const people = await players(8);
		const id = await createLottery(api, owner.token, { announceTime: nowSec() + 3, prizes: [prize(1), prize(2, { count: 2 })] });
		const before = await api.post(`${L}/lotteryDetail`, { id });
		expect(before.body.data.seedCommitment).toMatch(/^[0-9a-f]{64}$/);
		expect(JSON.stringify(before.body)).not.toMatch(/"seed"/);
		const early = await api.post(`${L}/drawProof`, { lotteryId: id });
		expect(early.status).toBe(409);
		expect(early.body.code).toBe(500027);
		expect((await api.post(`${L}/drawParticipants`, { lotteryId: id })).status).toBe(409);

		for (const p of people) await api.post(`${L}/participation`, { lotteryId: id }, p.token);
		await waitDrawn(id);
		const proof = (await api.post(`${L}/drawProof`, { lotteryId: id })).body.data;
		expect(seedCommitment(proof.seed)).toBe(before.body.data.seedCommitment);
		expect(proof).toMatchObject({ algorithm: "lottery-draw-v1", participantCount: 8 });
		expect(proof.winners).toHaveLength(3);
		const listed = (await api.post(`${L}/drawParticipants`, { lotteryId: id, afterUserId: 0, limit: 5 })).body.data;
		expect(listed.userIds).toHaveLength(5);
		expect(listed.next).toBe(listed.userIds[4]);
		expect(people.map(p => p.id)).toEqual(expect.arrayContaining(listed.userIds));

		const lines: string[] = [];
		expect(await verifyLottery(sys.baseUrl, id, l => lines.push(l))).toBe(true);
		const ok = await run("npm", ["run", "--silent", "verify", "--", "--url", sys.baseUrl, "--lottery", String(id)], { cwd: root });
		expect(ok.stdout).toContain("OK");

		// Swap a winner for a loser in the database: the verifier must notice, and exit 1.
		const loser = people.map(p => p.id).find(uid => !proof.winners.some((w: any) => w.userId === uid))!;
		const victim = proof.winners[0];
		await sys.db.query("UPDATE lottery_participation SET is_won = 0, prize_id = 0 WHERE lottery_id = ? AND user_id = ?", { replacements: [id, victim.userId] });
		await sys.db.query("UPDATE lottery_participation SET is_won = 1, prize_id = ? WHERE lottery_id = ? AND user_id = ?", { replacements: [victim.prizeId, id, loser] });
		const tampered = await run("npm", ["run", "--silent", "verify", "--", "--url", sys.baseUrl, "--lottery", String(id)], { cwd: root }).then(
			() => ({ code: 0, stdout: "" }),
			(err: { code: number; stdout: string }) => err,
		);
		expect(tampered.code).toBe(1);
		expect(tampered.stdout).toContain("MISMATCH");
	});

	it("lets operators draw a due lottery at once and cancel one not drawn; nobody else", async () => {
		const owner = await registerUser(api);
		const people = await players(2);
		const reg = await api.post("/usercenter/v1/user/register", { mobile: "13922223333", password: "admin-pass" });
		await sys.db.query("UPDATE `user` SET is_admin = 1 WHERE mobile = '13922223333'");
		await flushCaches(sys);
		const admin = reg.body.data.accessToken as string;

		const notDue = await createLottery(api, owner.token);
		expect((await api.post(`${L}/drawNow`, { lotteryId: notDue }, owner.token)).status).toBe(403);
		const early = await api.post(`${L}/drawNow`, { lotteryId: notDue }, admin);
		expect(early.status).toBe(409);
		expect(early.body.code).toBe(500029);

		for (const p of people) await api.post(`${L}/participation`, { lotteryId: notDue }, p.token);
		expect((await api.post(`${L}/cancelLottery`, { id: notDue }, owner.token)).body.code).toBe(500024);
		expect((await api.post(`${L}/cancelLottery`, { id: notDue }, admin)).status).toBe(200);
		expect((await api.post(`${L}/lotteryDetail`, { id: notDue })).body.data.state).toBe("cancelled");
	});

	describe("instant lotteries", () => {
		it("answer the real outcome at once, the same one when asked again, and never oversell", async () => {
			const owner = await registerUser(api);
			const people = await players(12);
			// level 1 always wins while there is stock: 3 items for 12 people
			const id = await createLottery(api, owner.token, { announceType: 3, announceTime: 0, prizes: [prize(1, { count: 3, probability: 10_000 })] });
			const results = await Promise.all(people.map(p => api.post(`${L}/instantParticipation`, { lotteryId: id }, p.token)));
			expect(results.every(r => r.status === 200)).toBe(true);
			const winners = results.filter(r => r.body.data.prizeId > 0);
			expect(winners).toHaveLength(3);
			expect(winners[0].body.data.prize).toMatchObject({ level: 1, lotteryId: id });
			expect(results.filter(r => r.body.data.prizeId === 0).every(r => r.body.data.prize === null)).toBe(true);

			const again = await api.post(`${L}/instantParticipation`, { lotteryId: id }, people[0].token);
			expect(again.body.data.prizeId).toBe(results[0].body.data.prizeId);

			const [rows] = await sys.db.query("SELECT stock FROM lottery_prize WHERE lottery_id = ?", { replacements: [id] });
			expect(Number((rows as Array<{ stock: number }>)[0].stock)).toBe(0);
			const pool = await sys.gateway.call<{ consistent: boolean; db: Record<number, number>; redis: Record<number, number> | null }, object>("draw.pool", { lotteryId: id });
			expect(pool.consistent).toBe(true);
			if (sys.backend === "cluster") expect(Object.values(pool.redis!)).toEqual([0]);
			const [count] = await sys.db.query("SELECT COUNT(*) AS n FROM lottery_participation WHERE lottery_id = ?", { replacements: [id] });
			expect(Number((count as Array<{ n: number }>)[0].n)).toBe(12);
		});

		it("take stock once for concurrent duplicates of one request", async () => {
			const owner = await registerUser(api);
			const [me, other] = await players(2);
			const id = await createLottery(api, owner.token, { announceType: 3, announceTime: 0, prizes: [prize(1, { count: 2, probability: 10_000 })] });
			const results = await Promise.all(Array.from({ length: 8 }, () => api.post(`${L}/instantParticipation`, { lotteryId: id }, me.token)));
			expect(new Set(results.map(r => `${r.status}:${r.body.data?.prizeId}`)).size).toBe(1);
			expect(results[0].body.data.prizeId).toBeGreaterThan(0);
			// one item left for someone else
			expect((await api.post(`${L}/instantParticipation`, { lotteryId: id }, other.token)).body.data.prizeId).toBeGreaterThan(0);
			const pool = await sys.gateway.call<{ consistent: boolean; db: Record<number, number> }, object>("draw.pool", { lotteryId: id });
			expect(Object.values(pool.db)).toEqual([0]);
			expect(pool.consistent).toBe(true);
		});

		it("keep a hash-chained log for the creator and operators only", async () => {
			const owner = await registerUser(api);
			const people = await players(4);
			const id = await createLottery(api, owner.token, { announceType: 3, announceTime: 0, prizes: [prize(1, { count: 1, probability: 5000 })] });
			for (const p of people) await api.post(`${L}/instantParticipation`, { lotteryId: id }, p.token);
			const log = await api.post(`${L}/instantLog`, { lotteryId: id }, owner.token);
			expect(log.status).toBe(200);
			expect(log.body.data.list.map((e: any) => e.seq)).toEqual([1, 2, 3, 4]);
			expect(log.body.data.chainIntact).toBe(true);
			expect((await api.post(`${L}/instantLog`, { lotteryId: id }, people[0].token)).status).toBe(403);

			await sys.db.query("UPDATE instant_draw_log SET prize_id = 999 WHERE lottery_id = ? AND seq = 2", { replacements: [id] });
			const tampered = await api.post(`${L}/instantLog`, { lotteryId: id }, owner.token);
			expect(tampered.body.data).toMatchObject({ chainIntact: false, brokenAtSeq: 2 });
		});

		it("are refused on scheduled lotteries, and scheduled participation is refused on them", async () => {
			const owner = await registerUser(api);
			const scheduled = await createLottery(api, owner.token);
			const res = await api.post(`${L}/instantParticipation`, { lotteryId: scheduled }, owner.token);
			expect(res.status).toBe(400);
			expect(res.body.code).toBe(500026);
			expect((await api.post(`${L}/instantParticipation`, { lotteryId: scheduled })).status).toBe(401);
		});
	});
});
