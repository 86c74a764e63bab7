import { invalidParam } from "./errors";

/** How a lottery is announced (go-lottery's announce_type). */
export const AnnounceType = { AT_TIME: 1, AT_JOIN_NUMBER: 2, INSTANT: 3 } as const;

/** Where a lottery is in its life. One column, so that every list is one indexed range. */
export const LotteryState = { DRAFT: 0, OPEN: 1, ANNOUNCED: 2, CANCELLED: 3, DRAWING: 4 } as const;

export const STATE_NAMES = ["draft", "open", "announced", "cancelled", "drawing"] as const;

export const PublishType = { NOW: 1, DRAFT: 2 } as const;

/** How the winner gets the prize (go-lottery's grant_type): what a claim must carry depends on it. */
export const GrantType = { SHIP: 1, CONTACT_ME: 2, FILL_INFO: 3 } as const;

/** go-lottery's odds by level for instant lotteries, in basis points out of 10000. */
export const DEFAULT_PROBABILITY_BY_LEVEL: Record<number, number> = { 1: 100, 2: 400, 3: 1500, 4: 3000 };

export const LIMITS = {
	lotteryName: 50,
	thumb: 255,
	introduce: 1000,
	prizeName: 50,
	prizesMax: 20,
	prizeCountMax: 1_000_000,
	joinNumberMax: 10_000_000,
	pageSizeMax: 100,
} as const;

export interface PrizeInput {
	type: number;
	name: string;
	count: number;
	thumb?: string;
	level: number;
	grantType: number;
	probability?: number | null;
}

export interface LotteryInput {
	name?: string;
	thumb?: string;
	announceType: number;
	announceTime?: number;
	joinNumber?: number;
	introduce?: string;
	awardDeadline?: number;
	sponsorId?: number;
	prizes: PrizeInput[];
	isClocked?: number;
	clockTask?: unknown;
	publishType?: number;
}

/** A lottery as it will be written: every field decided, every rule checked. */
export interface LotteryDraft {
	name: string;
	thumb: string;
	introduce: string;
	announceType: number;
	announceTime: number;
	joinNumber: number;
	awardDeadline: number;
	sponsorId: number;
	isClocked: number;
	clockTask: string | null;
	publish: boolean;
	prizes: Array<Required<Omit<PrizeInput, "probability">> & { probability: number | null }>;
}

/**
 * The rules go-lottery never checked. Throws a 400 naming the first field at fault; returns the lottery
 * to write, with go-lottery's defaults (name and thumb from the first prize).
 */
export function validateLottery(input: LotteryInput, nowSeconds: number): LotteryDraft {
	const { announceType } = input;
	const prizes = input.prizes ?? [];
	if (!prizes.length) throw invalidParam("prizes", "at least one prize is needed");
	if (prizes.length > LIMITS.prizesMax) throw invalidParam("prizes", `at most ${LIMITS.prizesMax} prizes`);

	const levels = prizes.map(p => p.level).sort((a, b) => a - b);
	levels.forEach((level, i) => {
		if (level !== i + 1) throw invalidParam("prizes.level", `levels must be 1..${prizes.length}, each once (got ${prizes.map(p => p.level).join(",")})`);
	});
	prizes.forEach((p, i) => {
		if (!Number.isInteger(p.count) || p.count < 1) throw invalidParam(`prizes[${i}].count`, "must be at least 1");
		if (p.count > LIMITS.prizeCountMax) throw invalidParam(`prizes[${i}].count`, `must be at most ${LIMITS.prizeCountMax}`);
		if (!p.name?.trim()) throw invalidParam(`prizes[${i}].name`, "must not be empty");
	});

	const scheduled = announceType === AnnounceType.AT_TIME || announceType === AnnounceType.AT_JOIN_NUMBER;
	const announceTime = input.announceTime ?? 0;
	if (scheduled && !(announceTime > nowSeconds)) throw invalidParam("announceTime", "must be in the future (unix seconds)");
	if (announceType === AnnounceType.INSTANT && announceTime && announceTime <= nowSeconds) {
		throw invalidParam("announceTime", "must be in the future (unix seconds), or 0 for an instant lottery without an end");
	}

	const joinNumber = input.joinNumber ?? 0;
	if (announceType === AnnounceType.AT_JOIN_NUMBER && joinNumber < 1) throw invalidParam("joinNumber", "must be at least 1 for a lottery drawn when enough people joined");

	const awardDeadline = input.awardDeadline ?? 0;
	const after = Math.max(announceTime, nowSeconds);
	if (!(awardDeadline > after)) throw invalidParam("awardDeadline", announceTime ? "must be after announceTime" : "must be in the future");

	if (announceType === AnnounceType.INSTANT) {
		const total = prizes.reduce((sum, p) => sum + (p.probability ?? DEFAULT_PROBABILITY_BY_LEVEL[p.level] ?? 0), 0);
		if (total > 10_000) throw invalidParam("prizes.probability", `the odds add up to ${total} basis points, more than 10000`);
	}

	const first = [...prizes].sort((a, b) => a.level - b.level)[0];
	const name = input.name?.trim() || first.name.trim();
	return {
		name: name.slice(0, LIMITS.lotteryName),
		thumb: input.thumb || first.thumb || "",
		introduce: input.introduce ?? "",
		announceType,
		announceTime,
		joinNumber: announceType === AnnounceType.AT_JOIN_NUMBER ? joinNumber : 0,
		awardDeadline,
		sponsorId: input.sponsorId ?? 0,
		isClocked: input.isClocked ? 1 : 0,
		clockTask: input.isClocked && input.clockTask ? JSON.stringify(input.clockTask) : null,
		publish: (input.publishType ?? PublishType.NOW) === PublishType.NOW,
		prizes: prizes.map(p => ({
			type: p.type,
			name: p.name.trim(),
			count: p.count,
			thumb: p.thumb ?? "",
			level: p.level,
			grantType: p.grantType,
			probability: p.probability ?? null,
		})),
	};
}

/** The odds of each prize of an instant lottery, in basis points (explicit, or go-lottery's table by level). */
export const prizeProbability = (p: { level: number; probability: number | null }): number =>
	p.probability ?? DEFAULT_PROBABILITY_BY_LEVEL[p.level] ?? 0;

// --- what clients read ---------------------------------------------------------------------------

export interface LotteryRecord {
	id: number;
	userId: number;
	name: string;
	thumb: string;
	introduce: string;
	state: number;
	publishTime: number | null;
	announceType: number;
	announceTime: number;
	joinNumber: number;
	participantCount: number;
	awardDeadline: number;
	isSelected: number;
	sponsorId: number;
}

/** go-lottery's `Lottery`. */
export interface LotteryView {
	id: number;
	userId: number;
	name: string;
	thumb: string;
	publishTime: number;
	joinNumber: number;
	introduce: string;
	awardDeadline: number;
	isSelected: number;
	announceType: number;
	announceTime: number;
	isAnnounced: number;
	sponsorId: number;
}

export function toLotteryView(l: LotteryRecord): LotteryView {
	return {
		id: Number(l.id),
		userId: Number(l.userId),
		name: l.name,
		thumb: l.thumb,
		publishTime: Number(l.publishTime ?? 0),
		joinNumber: l.joinNumber,
		introduce: l.introduce,
		awardDeadline: Number(l.awardDeadline),
		isSelected: l.isSelected,
		announceType: l.announceType,
		announceTime: Number(l.announceTime),
		isAnnounced: l.state === LotteryState.ANNOUNCED ? 1 : 0,
		sponsorId: Number(l.sponsorId),
	};
}

export interface PrizeRecord {
	id: number;
	lotteryId: number;
	type: number;
	name: string;
	level: number;
	thumb: string;
	count: number;
	grantType: number;
	probability: number | null;
	stock: number;
}

/** go-lottery's `Prize` (camelCase, in lottery details), plus the odds and what is left. */
export interface PrizeView {
	id: number;
	lotteryId: number;
	type: number;
	name: string;
	count: number;
	thumb: string;
	level: number;
	grantType: number;
	probability: number | null;
	stock: number;
}

export const toPrizeView = (p: PrizeRecord): PrizeView => ({
	id: Number(p.id),
	lotteryId: Number(p.lotteryId),
	type: p.type,
	name: p.name,
	count: p.count,
	thumb: p.thumb,
	level: p.level,
	grantType: p.grantType,
	probability: p.probability,
	stock: p.stock,
});

/** go-lottery's `LotteryPrize` (snake_case, in participation lists). */
export interface LotteryPrizeView {
	id: number;
	lottery_id: number;
	type: number;
	name: string;
	level: number;
	thumb: string;
	count: number;
	grant_type: number;
}

export const toLotteryPrizeView = (p: PrizeRecord): LotteryPrizeView => ({
	id: Number(p.id),
	lottery_id: Number(p.lotteryId),
	type: p.type,
	name: p.name,
	level: p.level,
	thumb: p.thumb,
	count: p.count,
	grant_type: p.grantType,
});

/**
 * Hides all but the first and last character, by code point so that no UTF-8 character (an emoji, a CJK
 * character) is ever cut in half: "张三丰" → "张*丰", "小明" → "小*", "A" → "*".
 */
export function maskNickname(nickname: string): string {
	const chars = Array.from(nickname);
	if (chars.length === 0) return "";
	if (chars.length === 1) return "*";
	if (chars.length === 2) return `${chars[0]}*`;
	return `${chars[0]}${"*".repeat(Math.min(chars.length - 2, 3))}${chars[chars.length - 1]}`;
}

/** "13800138000" → "138****8000". */
export function maskMobile(mobile: string): string {
	if (!mobile) return "";
	if (mobile.length < 7) return "*".repeat(mobile.length);
	return `${mobile.slice(0, 3)}****${mobile.slice(-4)}`;
}

/** go-lottery's `UserInfo` in participant and winner lists, masked: these lists are public. */
export interface PublicUserInfo {
	mobile: string;
	nickname: string;
	sex: number;
	avatar: string;
	info: string;
	signature: string;
	locationName: string;
}

export function toPublicUserInfo(u: { mobile: string; nickname: string; sex: number; avatar: string; info: string; signature: string; locationName: string }): PublicUserInfo {
	return {
		mobile: maskMobile(u.mobile),
		nickname: maskNickname(u.nickname),
		sex: u.sex,
		avatar: u.avatar,
		info: u.info,
		signature: u.signature,
		locationName: u.locationName,
	};
}
