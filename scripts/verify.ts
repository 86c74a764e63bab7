import { drawWinners, participantsHash, seedCommitment } from "../domain/draw";

/**
 * `npm run verify -- --url <gateway> --lottery <id>`: recomputes a drawn lottery's winners from public data
 * only (drawProof and drawParticipants) and compares them with the winners the system stored.
 * Exit 0: they match. Exit 1: they do not (or the proof does not hold together). Exit 2: it could not check.
 */
interface Proof {
	lotteryId: number;
	announceType: number;
	algorithm: string;
	seed: string;
	seedCommitment: string;
	participantsHash: string;
	participantCount: number;
	prizes: Array<{ id: number; level: number; count: number }>;
	winners: Array<{ userId: number; prizeId: number }>;
}

function arg(name: string): string | undefined {
	const i = process.argv.indexOf(`--${name}`);
	return i >= 0 ? process.argv[i + 1] : undefined;
}

async function post<T>(url: string, body: object): Promise<T> {
	const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
	const json = (await res.json()) as { code: number; msg: string; data: T };
	if (json.code !== 200) throw new Error(`${url}: ${json.code} ${json.msg}`);
	return json.data;
}

export async function verifyLottery(base: string, lotteryId: number, log: (line: string) => void = console.log): Promise<boolean> {
	const proof = await post<Proof>(`${base}/lottery/v1/lottery/drawProof`, { lotteryId });
	const problems: string[] = [];
	if (proof.algorithm !== "lottery-draw-v1") problems.push(`unknown algorithm ${proof.algorithm}`);
	if (seedCommitment(proof.seed) !== proof.seedCommitment) problems.push("the revealed seed does not match the published commitment");

	const ids: number[] = [];
	for (let after = 0; ;) {
		const page = await post<{ userIds: number[]; next: number }>(`${base}/lottery/v1/lottery/drawParticipants`, { lotteryId, afterUserId: after, limit: 10_000 });
		ids.push(...page.userIds);
		if (!page.next) break;
		after = page.next;
	}
	if (ids.length !== proof.participantCount) problems.push(`${ids.length} participants listed, the proof says ${proof.participantCount}`);
	const hash = participantsHash(ids);
	if (hash !== proof.participantsHash) problems.push("the participant list does not hash to the proof's participantsHash");

	if (proof.announceType !== 3) {
		const expected = drawWinners({ seed: proof.seed, lotteryId, participants: Float64Array.from(ids), prizes: proof.prizes }).winners;
		const key = (w: { userId: number; prizeId: number }) => `${w.userId}:${w.prizeId}`;
		const want = new Set(expected.map(key));
		const got = new Set(proof.winners.map(key));
		for (const w of want) if (!got.has(w)) problems.push(`expected winner ${w} (user:prize) is not stored`);
		for (const w of got) if (!want.has(w)) problems.push(`stored winner ${w} (user:prize) is not what the draw gives`);
		log(`lottery ${lotteryId}: ${ids.length} participants, ${expected.length} winners recomputed`);
	} else {
		log(`lottery ${lotteryId}: instant lottery, ${ids.length} participants; outcomes are audited through instantLog`);
	}
	for (const p of problems) log(`MISMATCH: ${p}`);
	if (!problems.length) log("OK: the draw is reproduced from public data");
	return problems.length === 0;
}

async function main(): Promise<void> {
	const url = arg("url");
	const lottery = Number(arg("lottery"));
	if (!url || !Number.isInteger(lottery) || lottery <= 0) {
		console.error("usage: npm run verify -- --url http://127.0.0.1:3000 --lottery <id>");
		process.exit(2);
	}
	try {
		process.exit((await verifyLottery(url.replace(/\/+$/, ""), lottery)) ? 0 : 1);
	} catch (err) {
		console.error(`could not verify: ${(err as Error).message}`);
		process.exit(2);
	}
}

if (require.main === module) void main();
