import crypto from "node:crypto";

/**
 * How winners are chosen — the whole algorithm, with nothing else in this file. doc/draw-proof.md specifies it
 * for people who write their own verifier; `npm run verify` runs this same code, and the web console reimplements
 * it in public/proof.js (tested against this one).
 *
 * Version "lottery-draw-v1":
 *  1. Participants are the user ids of the lottery's participations, ascending, each once.
 *  2. participantsHash = hex SHA-256 of the ids written in decimal, each followed by "\n".
 *  3. A random number source: the k-th draw (k = 0, 1, 2, …) is the first 6 bytes, read as an unsigned
 *     big-endian integer, of HMAC-SHA256(key = seed bytes, message = "lottery-draw-v1|<lotteryId>|<participantsHash>|<k>").
 *  4. uniform(n): take draws until one is below the largest multiple of n that is ≤ 2^48 (rejection: no modulo
 *     bias); the answer is that draw mod n.
 *  5. A partial Fisher–Yates shuffle of the sorted list: for i = 0 … w−1, j = i + uniform(n − i), swap items
 *     i and j; w = min(total prize count, n). Item i is the i-th winner: nobody wins twice.
 *  6. Prizes by level, 1 first: the first `count` winners get the level-1 prize, the next ones level 2, …
 */
export const DRAW_ALGORITHM = "lottery-draw-v1";

const TWO_48 = 2 ** 48;

export interface DrawPrize {
	id: number;
	level: number;
	count: number;
}

export interface Winner {
	userId: number;
	prizeId: number;
	level: number;
}

/** 32 random bytes from the operating system's CSPRNG, hex. */
export const newSeed = (): string => crypto.randomBytes(32).toString("hex");

/** What lotteryDetail shows from publication on: hex SHA-256 of the seed's 32 bytes. */
export const seedCommitment = (seedHex: string): string => crypto.createHash("sha256").update(Buffer.from(seedHex, "hex")).digest("hex");

/** Incremental participantsHash, for lists too long to hold as text. Feed ids in ascending order. */
export class ParticipantsHasher {
	private readonly hash = crypto.createHash("sha256");
	private last = -Infinity;
	count = 0;

	add(userId: number): void {
		this.addMany([userId], 0, 1);
	}

	/** Adds ids[from..to) at once: one hash update per page instead of one per participant. */
	addMany(ids: ArrayLike<number>, from = 0, to = ids.length): void {
		let text = "";
		for (let i = from; i < to; i++) {
			const userId = ids[i];
			if (!(userId > this.last)) throw new Error(`participants must be strictly ascending (${userId} after ${this.last})`);
			this.last = userId;
			text += `${userId}\n`;
		}
		this.hash.update(text);
		this.count += to - from;
	}

	digest(): string {
		return this.hash.digest("hex");
	}
}

export function participantsHash(sortedUserIds: ArrayLike<number>): string {
	const h = new ParticipantsHasher();
	for (let i = 0; i < sortedUserIds.length; i += 10_000) h.addMany(sortedUserIds, i, Math.min(sortedUserIds.length, i + 10_000));
	return h.digest();
}

/** The deterministic random stream of step 3–4. */
export class DrawStream {
	private counter = 0;
	private readonly key: Buffer;

	constructor(seedHex: string, private readonly lotteryId: number, private readonly participantsHashHex: string) {
		this.key = Buffer.from(seedHex, "hex");
		if (this.key.length !== 32) throw new Error("the seed must be 32 bytes (64 hex characters)");
	}

	next48(): number {
		const mac = crypto.createHmac("sha256", this.key).update(`${DRAW_ALGORITHM}|${this.lotteryId}|${this.participantsHashHex}|${this.counter++}`).digest();
		return mac.readUIntBE(0, 6);
	}

	/** Uniform in [0, n), without modulo bias. */
	uniform(n: number): number {
		if (!Number.isInteger(n) || n < 1 || n > TWO_48) throw new Error(`uniform(${n}) is out of range`);
		const limit = TWO_48 - (TWO_48 % n);
		for (;;) {
			const r = this.next48();
			if (r < limit) return r % n;
		}
	}
}

export interface DrawInput {
	seed: string;
	lotteryId: number;
	/** Ascending, unique. A Float64Array keeps a million ids in 8 MB. */
	participants: Float64Array | number[];
	/** Any order: they are taken by level. */
	prizes: DrawPrize[];
	/** Computed when not given. */
	participantsHash?: string;
}

export interface DrawResult {
	algorithm: string;
	participantsHash: string;
	participantCount: number;
	winners: Winner[];
}

/** Winners as a pure function of (seed, participants, lottery id, prizes). The participant array is shuffled in place. */
export function drawWinners(input: DrawInput): DrawResult {
	const list = input.participants;
	const n = list.length;
	const hash = input.participantsHash ?? participantsHash(list);
	const prizes = [...input.prizes].sort((a, b) => a.level - b.level);
	const total = prizes.reduce((s, p) => s + p.count, 0);
	const w = Math.min(total, n);
	const stream = new DrawStream(input.seed, input.lotteryId, hash);

	const winners: Winner[] = [];
	let prizeIndex = 0;
	let givenOfPrize = 0;
	for (let i = 0; i < w; i++) {
		const j = i + stream.uniform(n - i);
		const tmp = list[i];
		list[i] = list[j];
		list[j] = tmp;
		while (givenOfPrize >= prizes[prizeIndex].count) {
			prizeIndex++;
			givenOfPrize = 0;
		}
		winners.push({ userId: list[i], prizeId: prizes[prizeIndex].id, level: prizes[prizeIndex].level });
		givenOfPrize++;
	}
	return { algorithm: DRAW_ALGORITHM, participantsHash: hash, participantCount: n, winners };
}

// --- instant draws -------------------------------------------------------------------------------------

export interface InstantPrize {
	id: number;
	level: number;
	/** Basis points out of 10000. */
	probability: number;
	stock: number;
}

/**
 * The prize a roll in [0, 10000) lands on: prizes by level take consecutive ranges of their probability's
 * width; past them, or on a prize with no stock left, nothing is won.
 */
export function instantOutcome(roll: number, prizes: InstantPrize[]): InstantPrize | null {
	let upper = 0;
	for (const p of [...prizes].sort((a, b) => a.level - b.level)) {
		upper += p.probability;
		if (roll < upper) return p.stock > 0 ? p : null;
	}
	return null;
}

export const rollInstant = (): number => crypto.randomInt(0, 10_000);

/** One entry of a lottery's instant-draw log; `hash` chains it to the previous entry. */
export interface InstantLogEntry {
	lotteryId: number;
	seq: number;
	userId: number;
	prizeId: number;
	roll: number;
	drawTime: number;
	prevHash: string;
}

export const GENESIS_HASH = "0".repeat(64);

/** hex SHA-256 of "lottery-instant-v1|lotteryId|seq|userId|prizeId|roll|drawTime|prevHash". */
export const instantEntryHash = (e: InstantLogEntry): string =>
	crypto.createHash("sha256").update(`lottery-instant-v1|${e.lotteryId}|${e.seq}|${e.userId}|${e.prizeId}|${e.roll}|${e.drawTime}|${e.prevHash}`).digest("hex");

/** The first entry (by seq) whose hash or link is wrong, or null when the chain is intact. */
export function verifyInstantChain(entries: Array<InstantLogEntry & { hash: string }>, startHash = GENESIS_HASH): number | null {
	let prev = startHash;
	for (const e of [...entries].sort((a, b) => a.seq - b.seq)) {
		if (e.prevHash !== prev || instantEntryHash(e) !== e.hash) return e.seq;
		prev = e.hash;
	}
	return null;
}
