import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Sequelize } from "sequelize";
import { drawWinners, newSeed, seedCommitment } from "../../domain/draw";
import { loadConfig } from "../../lib/config";
import { createSequelize, migrate } from "../../lib/database";
import { DrawEngine } from "../../lib/draw-engine";
import { defineModels, type Models } from "../../models";
import { backend, createMysqlDatabase } from "../support/system";

const nowSec = () => Math.floor(Date.now() / 1000);

describe(`draw engine (${process.env.TEST_BACKEND})`, () => {
	let db: Sequelize;
	let models: Models;
	let drop: () => Promise<void>;

	beforeAll(async () => {
		if (backend() === "cluster") {
			const m = await createMysqlDatabase("lt_draw");
			db = createSequelize(loadConfig({ DB_URI: m.uri }));
			drop = m.drop;
		} else {
			const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lottery-draw-"));
			db = createSequelize(loadConfig({ DATA_DIR: dir }));
			drop = async () => fs.rmSync(dir, { recursive: true, force: true });
		}
		await migrate(db);
		models = defineModels(db);
	});
	afterAll(async () => {
		await db.close();
		await drop();
	});

	/** A lottery due now with `players` participants and prizes of the given counts (levels 1..n). */
	async function dueLottery(players: number, counts: number[]): Promise<{ id: number; seed: string; prizes: Array<{ id: number; level: number; count: number }> }> {
		const seed = newSeed();
		const lottery = await models.Lottery.create({
			userId: 1, name: "due", thumb: "", introduce: "", state: 1, publishTime: nowSec() - 100, announceType: 1, announceTime: nowSec() - 1,
			joinNumber: 0, awardDeadline: nowSec() + 86400, sponsorId: 0, isClocked: 0, clockTask: null, seed, seedCommitment: seedCommitment(seed),
		});
		const id = Number(lottery.id);
		const prizes = [];
		for (const [i, count] of counts.entries()) {
			const p = await models.Prize.create({ lotteryId: id, type: 1, name: `p${i + 1}`, level: i + 1, thumb: "", count, grantType: 1, probability: null, stock: count });
			prizes.push({ id: Number(p.id), level: i + 1, count });
		}
		await models.Participation.bulkCreate(Array.from({ length: players }, (_, i) => ({ lotteryId: id, userId: 1000 + i * 7 })));
		await models.Lottery.update({ participantCount: players }, { where: { id } });
		return { id, seed, prizes };
	}

	const storedWinners = async (lotteryId: number) =>
		(await models.Participation.findAll({ where: { lotteryId, isWon: 1 }, order: [["userId", "ASC"]] })).map(p => `${Number(p.userId)}:${Number(p.prizeId)}`);

	it("draws the winners the algorithm gives, with the announced state, in one go", async () => {
		const { id, seed, prizes } = await dueLottery(30, [1, 3]);
		const engine = new DrawEngine(db, models, { owner: "node-a", leaseMs: 10_000, batchSize: 7 });
		const outcome = await engine.draw(id);
		expect(outcome?.winners).toHaveLength(4);
		const expected = drawWinners({ seed, lotteryId: id, participants: Float64Array.from({ length: 30 }, (_, i) => 1000 + i * 7), prizes });
		expect(outcome?.participantsHash).toBe(expected.participantsHash);
		expect(await storedWinners(id)).toEqual(expected.winners.map(w => `${w.userId}:${w.prizeId}`).sort());
		const row = await models.Lottery.findByPk(id);
		expect(row).toMatchObject({ state: 2, drawOwner: null, participantsHash: expected.participantsHash, drawAlgorithm: "lottery-draw-v1" });
		expect((await models.Prize.findByPk(prizes[1].id))?.stock).toBe(0);
		// drawn once: nothing more to claim
		expect(await engine.draw(id)).toBeNull();
	});

	it("leaves no partial winners when a node dies mid-draw, and the next node redoes the whole draw", async () => {
		const { id } = await dueLottery(20, [2, 2]);
		const dying = new DrawEngine(db, models, {
			owner: "node-dying", leaseMs: 300,
			beforeCommit: async () => { throw new Error("the process died here"); },
		});
		await expect(dying.draw(id)).rejects.toThrow("the process died here");
		expect(await storedWinners(id)).toEqual([]);
		expect((await models.Lottery.findByPk(id))?.state).toBe(4);

		const survivor = new DrawEngine(db, models, { owner: "node-b", leaseMs: 10_000 });
		expect(await survivor.draw(id)).toBeNull(); // the claim still holds
		await new Promise(r => setTimeout(r, 1100)); // the dead node's lease (and its back-off) runs out
		const outcome = await survivor.draw(id);
		expect(outcome?.winners).toHaveLength(4);
		expect(await storedWinners(id)).toHaveLength(4);
		expect((await models.Lottery.findByPk(id))?.state).toBe(2);
	});

	it("lets only one of several racing nodes draw, and a node that lost its lease cannot commit", async () => {
		const { id } = await dueLottery(25, [3]);
		const engines = ["n1", "n2", "n3", "n4"].map(owner => new DrawEngine(db, models, { owner, leaseMs: 10_000 }));
		const outcomes = await Promise.all(engines.map(e => e.draw(id)));
		expect(outcomes.filter(Boolean)).toHaveLength(1);
		expect(await storedWinners(id)).toHaveLength(3);

		// A node that stalls after claiming, past its lease: another node takes over and draws; the stalled
		// node's late commit is refused, so the winners are written once.
		const second = await dueLottery(25, [3]);
		const slow = new DrawEngine(db, models, { owner: "slow", leaseMs: 200 });
		expect(await slow.claim(second.id)).toBe(true);
		await new Promise(r => setTimeout(r, 300));
		const fast = new DrawEngine(db, models, { owner: "fast", leaseMs: 10_000 });
		expect(await fast.draw(second.id)).not.toBeNull();
		const winners = await storedWinners(second.id);
		expect(winners).toHaveLength(3);
		const lateCommit = (slow as unknown as { drawClaimed(id: number): Promise<unknown> }).drawClaimed(second.id);
		await expect(lateCommit).rejects.toThrow(/lost the claim/);
		expect(await storedWinners(second.id)).toEqual(winners);
	});

	it("finds due lotteries: past their time, type 2 at its target, or abandoned mid-draw", async () => {
		const pastTime = await dueLottery(1, [1]);
		const engine = new DrawEngine(db, models, { owner: "finder", leaseMs: 10_000 });
		const future = await models.Lottery.create({ userId: 1, name: "f", thumb: "", introduce: "", state: 1, publishTime: 1, announceType: 1, announceTime: nowSec() + 3600, joinNumber: 0, awardDeadline: nowSec() + 9000, sponsorId: 0, isClocked: 0, clockTask: null, seed: newSeed() });
		const target = await models.Lottery.create({ userId: 1, name: "t", thumb: "", introduce: "", state: 1, publishTime: 1, announceType: 2, announceTime: nowSec() + 3600, joinNumber: 2, participantCount: 2, awardDeadline: nowSec() + 9000, sponsorId: 0, isClocked: 0, clockTask: null, seed: newSeed() });
		const abandoned = await models.Lottery.create({ userId: 1, name: "a", thumb: "", introduce: "", state: 4, publishTime: 1, announceType: 1, announceTime: nowSec() - 10, joinNumber: 0, awardDeadline: nowSec() + 9000, sponsorId: 0, isClocked: 0, clockTask: null, seed: newSeed(), drawOwner: "dead", drawLeaseUntil: Date.now() - 1 });
		const due = await engine.due(100);
		expect(due).toEqual(expect.arrayContaining([pastTime.id, Number(target.id), Number(abandoned.id)].map(Number)));
		expect(due).not.toContain(Number(future.id));
	});
});
