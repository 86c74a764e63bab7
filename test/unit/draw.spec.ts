import crypto from "node:crypto";
import {
	DrawStream, drawWinners, GENESIS_HASH, instantEntryHash, instantOutcome, participantsHash, seedCommitment, verifyInstantChain,
	type InstantLogEntry,
} from "../../domain/draw";

const seedOf = (i: number) => crypto.createHash("sha256").update(`seed-${i}`).digest("hex");
const ids = (n: number) => Float64Array.from({ length: n }, (_, i) => i + 1);

describe("the draw algorithm (lottery-draw-v1)", () => {
	it("matches the published test vector (doc/draw-proof.md, reproduced there in Python)", () => {
		const seed = `${"00".repeat(31)}01`;
		expect(participantsHash(ids(10))).toBe("bf794518e35d7f1ce3a50b3058c4191bb9401e568fc645d77e10b0f404cf1f22");
		const result = drawWinners({ seed, lotteryId: 7, participants: ids(10), prizes: [{ id: 200, level: 2, count: 2 }, { id: 100, level: 1, count: 1 }] });
		expect(result.winners).toEqual([{ userId: 7, prizeId: 100, level: 1 }, { userId: 3, prizeId: 200, level: 2 }, { userId: 10, prizeId: 200, level: 2 }]);
	});

	it("is a pure function of seed, participants, lottery and prizes", () => {
		const prizes = [{ id: 1, level: 1, count: 3 }];
		const a = drawWinners({ seed: seedOf(1), lotteryId: 1, participants: ids(50), prizes });
		expect(drawWinners({ seed: seedOf(1), lotteryId: 1, participants: ids(50), prizes })).toEqual(a);
		expect(drawWinners({ seed: seedOf(2), lotteryId: 1, participants: ids(50), prizes }).winners).not.toEqual(a.winners);
		expect(drawWinners({ seed: seedOf(1), lotteryId: 2, participants: ids(50), prizes }).winners).not.toEqual(a.winners);
		const other = Float64Array.from([...ids(49), 51]);
		expect(drawWinners({ seed: seedOf(1), lotteryId: 1, participants: other, prizes }).participantsHash).not.toBe(a.participantsHash);
	});

	it("never picks anyone twice, gives min(prizes, participants) winners, level 1 first", () => {
		const prizes = [{ id: 30, level: 3, count: 5 }, { id: 10, level: 1, count: 2 }, { id: 20, level: 2, count: 3 }];
		for (let s = 0; s < 50; s++) {
			const { winners } = drawWinners({ seed: seedOf(s), lotteryId: s, participants: ids(40), prizes });
			expect(winners).toHaveLength(10);
			expect(new Set(winners.map(w => w.userId)).size).toBe(10);
			expect(winners.map(w => w.prizeId)).toEqual([10, 10, 20, 20, 20, 30, 30, 30, 30, 30]);
		}
		const few = drawWinners({ seed: seedOf(1), lotteryId: 1, participants: ids(4), prizes }).winners;
		expect(few.map(w => w.prizeId)).toEqual([10, 10, 20, 20]);
		expect(new Set(few.map(w => w.userId))).toEqual(new Set([1, 2, 3, 4]));
		expect(drawWinners({ seed: seedOf(1), lotteryId: 1, participants: new Float64Array(0), prizes }).winners).toEqual([]);
	});

	it("gives every participant the same chance (chi-square over 4000 seeded draws)", () => {
		const n = 20;
		const draws = 4000;
		const wins = new Array(n).fill(0);
		const firsts = new Array(n).fill(0);
		for (let s = 0; s < draws; s++) {
			const { winners } = drawWinners({ seed: seedOf(s), lotteryId: 42, participants: ids(n), prizes: [{ id: 1, level: 1, count: 1 }, { id: 2, level: 2, count: 4 }] });
			winners.forEach(w => wins[w.userId - 1]++);
			firsts[winners[0].userId - 1]++;
		}
		const chi2 = (observed: number[], expected: number) => observed.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0);
		// 19 degrees of freedom: 43.82 is the 0.1% critical value. The seeds are fixed, so this never flakes.
		expect(chi2(wins, (draws * 5) / n)).toBeLessThan(43.82);
		expect(chi2(firsts, draws / n)).toBeLessThan(43.82);
		// and a biased draw would fail it: favouring participant 1 a little is caught
		const biased = [...wins];
		biased[0] += 150;
		biased[1] -= 150;
		expect(chi2(biased, (draws * 5) / n)).toBeGreaterThan(43.82);
	});

	it("draws without modulo bias, even for ranges that do not divide 2^48", () => {
		const stream = new DrawStream(seedOf(9), 1, "h");
		const n = 2 ** 47 + 1; // nearly half of all 48-bit values are rejected
		for (let i = 0; i < 200; i++) {
			const r = stream.uniform(n);
			expect(r).toBeGreaterThanOrEqual(0);
			expect(r).toBeLessThan(n);
		}
		expect(() => stream.uniform(0)).toThrow();
		expect(() => new DrawStream("abcd", 1, "h")).toThrow(/32 bytes/);
	});

	it("hashes only strictly ascending participant lists", () => {
		expect(() => participantsHash([1, 3, 2])).toThrow(/ascending/);
		expect(() => participantsHash([1, 1])).toThrow(/ascending/);
	});

	it("commits to the seed with SHA-256 of its bytes", () => {
		const seed = seedOf(3);
		expect(seedCommitment(seed)).toBe(crypto.createHash("sha256").update(Buffer.from(seed, "hex")).digest("hex"));
	});
});

describe("instant draws", () => {
	const prizes = [
		{ id: 1, level: 1, probability: 100, stock: 1 },
		{ id: 2, level: 2, probability: 400, stock: 5 },
		{ id: 3, level: 3, probability: 1500, stock: 0 },
	];

	it("map a roll to consecutive probability ranges by level, and nothing past them or without stock", () => {
		expect(instantOutcome(0, prizes)?.id).toBe(1);
		expect(instantOutcome(99, prizes)?.id).toBe(1);
		expect(instantOutcome(100, prizes)?.id).toBe(2);
		expect(instantOutcome(499, prizes)?.id).toBe(2);
		expect(instantOutcome(500, prizes)).toBeNull(); // level 3 has no stock left
		expect(instantOutcome(2000, prizes)).toBeNull();
		expect(instantOutcome(9999, prizes)).toBeNull();
	});

	it("chain their log so that any change to an entry shows", () => {
		const entries: Array<InstantLogEntry & { hash: string }> = [];
		let prev = GENESIS_HASH;
		for (let seq = 1; seq <= 5; seq++) {
			const e: InstantLogEntry = { lotteryId: 9, seq, userId: 100 + seq, prizeId: seq === 3 ? 2 : 0, roll: seq * 1000, drawTime: 1_800_000_000 + seq, prevHash: prev };
			prev = instantEntryHash(e);
			entries.push({ ...e, hash: prev });
		}
		expect(verifyInstantChain(entries)).toBeNull();
		const forged = entries.map(e => (e.seq === 3 ? { ...e, prizeId: 0 } : e));
		expect(verifyInstantChain(forged)).toBe(3);
		const dropped = entries.filter(e => e.seq !== 2);
		expect(verifyInstantChain(dropped)).toBe(3);
	});
});
