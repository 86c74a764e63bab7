/**
 * lottery-draw-v1, recomputed in the browser.
 *
 * An independent reimplementation of doc/draw-proof.md (the server's code is domain/draw.ts) on WebCrypto:
 * nothing here asks the server whether a draw is right. The console fetches the public proof (drawProof) and
 * the frozen participant list (drawParticipants) and hands both to verifyDraw().
 *
 *  1. participants: user ids ascending, each once; participantsHash = hex SHA-256 of "id\n" for every id.
 *  2. R(k) = the first 6 bytes, big-endian, of HMAC-SHA256(key = seed bytes,
 *     message = "lottery-draw-v1|<lotteryId>|<participantsHash>|<k>"), k = 0, 1, 2, … over the whole draw.
 *  3. uniform(m): limit = 2^48 − (2^48 mod m); take R(k) until R(k) < limit; answer R(k) mod m.
 *  4. w = min(total prize count, n); for i = 0 … w−1: j = i + uniform(n − i), swap a[i] and a[j]; a[i] wins.
 *  5. Prizes by level ascending: the first count₁ winners get level 1, the next count₂ level 2, …
 *
 * The 48-bit arithmetic is done in BigInt, so it is exact whatever the size of m.
 */

export const ALGORITHM = "lottery-draw-v1";

const TWO_48 = 1n << 48n;
const encoder = new TextEncoder();

function subtle() {
	const s = globalThis.crypto && globalThis.crypto.subtle;
	if (!s) {
		throw new Error("this browser offers no WebCrypto on this page: open the console over https or on localhost / 127.0.0.1");
	}
	return s;
}

export function hexToBytes(hex) {
	if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
		throw new Error(`not a hex string: ${JSON.stringify(hex)}`);
	}
	const out = new Uint8Array(hex.length / 2);
	for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
	return out;
}

export function bytesToHex(bytes) {
	const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
	let s = "";
	for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, "0");
	return s;
}

/** Lowercase hex SHA-256 of a string (as UTF-8) or of bytes. */
export async function sha256Hex(data) {
	const bytes = typeof data === "string" ? encoder.encode(data) : data;
	return bytesToHex(await subtle().digest("SHA-256", bytes));
}

/** The commitment published from the lottery's publication on: hex SHA-256 of the seed's 32 bytes. */
export async function seedCommitment(seedHex) {
	return sha256Hex(hexToBytes(seedHex));
}

/** hex SHA-256 of every id in decimal followed by "\n" (the ids must already be ascending). */
export async function participantsHash(sortedIds) {
	const parts = new Array(sortedIds.length);
	for (let i = 0; i < sortedIds.length; i++) parts[i] = `${sortedIds[i]}\n`;
	return sha256Hex(parts.join(""));
}

/** The draw's random stream: next48() gives R(0), R(1), …; uniform(m) is unbiased in [0, m). */
export async function drawStream(seedHex, lotteryId, participantsHashHex) {
	const seed = hexToBytes(seedHex);
	if (seed.length !== 32) throw new Error(`the seed must be 32 bytes, it has ${seed.length}`);
	const key = await subtle().importKey("raw", seed, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	let k = 0;
	async function next48() {
		const message = encoder.encode(`${ALGORITHM}|${lotteryId}|${participantsHashHex}|${k}`);
		k += 1;
		const mac = new Uint8Array(await subtle().sign("HMAC", key, message));
		let r = 0n;
		for (let i = 0; i < 6; i++) r = (r << 8n) | BigInt(mac[i]);
		return r;
	}
	async function uniform(m) {
		if (!Number.isSafeInteger(m) || m < 1 || BigInt(m) > TWO_48) throw new Error(`uniform(${m}) is out of range`);
		const big = BigInt(m);
		const limit = TWO_48 - (TWO_48 % big);
		for (;;) {
			const r = await next48();
			if (r < limit) return Number(r % big);
		}
	}
	return { next48, uniform, get counter() { return k; } };
}

/**
 * The winners of lottery-draw-v1, in drawing order: [{userId, prizeId, level}].
 * `participants` ascending and unique; `prizes` [{id, level, count}] in any order.
 */
export async function drawWinners({ seed, lotteryId, participants, prizes }) {
	const list = Array.from(participants);
	const n = list.length;
	const hash = await participantsHash(list);
	const byLevel = [...prizes].sort((a, b) => a.level - b.level);
	const total = byLevel.reduce((sum, p) => sum + p.count, 0);
	const w = Math.min(total, n);
	const stream = await drawStream(seed, lotteryId, hash);
	const winners = [];
	let prize = 0;
	let given = 0;
	for (let i = 0; i < w; i++) {
		const j = i + (await stream.uniform(n - i));
		[list[i], list[j]] = [list[j], list[i]];
		while (given >= byLevel[prize].count) {
			prize += 1;
			given = 0;
		}
		winners.push({ userId: list[i], prizeId: byLevel[prize].id, level: byLevel[prize].level });
		given += 1;
	}
	return { participantsHash: hash, winners };
}

const winnerKey = w => `${w.userId}:${w.prizeId}`;

/**
 * Checks a drawn lottery's proof against its participant list, step by step.
 *  proof: drawProof's data; participants: every userId of drawParticipants, as the server sent them;
 *  options.publishedCommitment: the seedCommitment lotteryDetail showed (without it, the proof's own);
 *  options.lotteryId: the lottery that was asked for (without it, the proof's own).
 * Returns {verified, checks: [{name, ok, detail}], expected: winners recomputed, problems: [text]}.
 */
export async function verifyDraw(proof, participants, options = {}) {
	const { publishedCommitment, lotteryId = proof.lotteryId } = options;
	const checks = [];
	const check = (name, ok, detail) => checks.push({ name, ok, detail });
	let expected = [];

	if (proof.lotteryId !== lotteryId) check("Lottery", false, `the proof is for lottery ${proof.lotteryId}, not ${lotteryId}`);

	check("Algorithm", proof.algorithm === ALGORITHM,
		proof.algorithm === ALGORITHM ? ALGORITHM : `the proof names "${proof.algorithm}", this page knows only ${ALGORITHM}`);

	const commitment = publishedCommitment || proof.seedCommitment;
	if (publishedCommitment && proof.seedCommitment !== publishedCommitment) {
		check("Commitment", false, `the proof's commitment ${proof.seedCommitment} is not the one the lottery published, ${publishedCommitment}`);
	}
	let seedOk = false;
	try {
		const computed = await seedCommitment(proof.seed);
		seedOk = computed === commitment;
		check("Seed", seedOk, seedOk
			? `SHA-256 of the revealed seed is the published commitment ${commitment}`
			: `SHA-256 of the revealed seed is ${computed}, the published commitment is ${commitment}`);
	} catch (err) {
		check("Seed", false, `the revealed seed is unusable: ${err.message}`);
	}

	const sorted = [...participants].sort((a, b) => a - b);
	const unique = sorted.every((id, i) => i === 0 || id !== sorted[i - 1]);
	const inOrder = participants.every((id, i) => i === 0 || id > participants[i - 1]);
	if (!unique) check("Participant list", false, "the list names someone twice");
	else if (!inOrder) check("Participant list", false, "the list is not in ascending order");
	check("Participant count", sorted.length === proof.participantCount,
		`${sorted.length} listed, the proof says ${proof.participantCount}`);
	const hash = await participantsHash(sorted);
	check("Participants hash", hash === proof.participantsHash, hash === proof.participantsHash
		? `the list hashes to ${hash}`
		: `the list hashes to ${hash}, the proof says ${proof.participantsHash}`);

	const problems = [];
	if (proof.announceType === 3) {
		check("Winners", false, "an instant lottery is not drawn from a seed: its outcomes are audited through instantLog");
	} else {
		try {
			expected = (await drawWinners({ seed: proof.seed, lotteryId, participants: sorted, prizes: proof.prizes })).winners;
			const want = new Map(expected.map(w => [winnerKey(w), w]));
			const got = new Map(proof.winners.map(w => [winnerKey(w), w]));
			for (const [key, w] of want) {
				if (!got.has(key)) problems.push(`user ${w.userId} should have won prize ${w.prizeId} (level ${w.level}) but is not among the stored winners`);
			}
			for (const [key, w] of got) {
				if (!want.has(key)) problems.push(`stored winner user ${w.userId} of prize ${w.prizeId} is not what the draw gives`);
			}
			if (got.size !== proof.winners.length) problems.push("the stored winners name someone twice");
			check("Winners", problems.length === 0, problems.length === 0
				? `${expected.length} winner${expected.length === 1 ? "" : "s"} recomputed, the same as the stored ones`
				: problems.join("; "));
		} catch (err) {
			check("Winners", false, `could not recompute the winners: ${err.message}`);
		}
	}
	const verified = checks.every(c => c.ok);
	return { verified, checks, expected, problems };
}
