/** usercenter's domain rules and the shapes go-lottery's clients read. */

/** go-lottery registers mainland mobile numbers: exactly 11 digits. */
export const MOBILE_PATTERN = /^\d{11}$/;

export interface UserRecord {
	id: number;
	mobile: string | null;
	nickname: string;
	sex: number;
	avatar: string;
	info: string;
	isAdmin: number;
	signature: string;
	locationName: string;
	longitude: number;
	latitude: number;
}

export interface UserCounts {
	participation_count: number;
	created_count: number;
	won_count: number;
}

/** The `User` object of go-lottery's usercenter swagger (note its snake_case counters). */
export interface UserInfo extends UserCounts {
	id: number;
	mobile: string;
	nickname: string;
	sex: number;
	avatar: string;
	info: string;
	isAdmin: number;
	signature: string;
	locationName: string;
	longitude: number;
	latitude: number;
}

export const NO_COUNTS: UserCounts = { participation_count: 0, created_count: 0, won_count: 0 };

export function toUserInfo(user: UserRecord, counts: UserCounts = NO_COUNTS): UserInfo {
	return {
		id: Number(user.id),
		mobile: user.mobile ?? "",
		nickname: user.nickname,
		sex: user.sex,
		avatar: user.avatar,
		info: user.info,
		isAdmin: user.isAdmin,
		signature: user.signature,
		locationName: user.locationName,
		longitude: Number(user.longitude),
		latitude: Number(user.latitude),
		participation_count: counts.participation_count,
		created_count: counts.created_count,
		won_count: counts.won_count,
	};
}

/** A default nickname for accounts that did not give one: "用户" and the last four digits, as go-lottery did. */
export function defaultNickname(mobile: string | null, fallbackId: string): string {
	const tail = mobile ? mobile.slice(-4) : fallbackId.slice(-6);
	return `用户${tail}`;
}

export interface SponsorRecord {
	id: number;
	userId: number;
	type: number;
	appletType: number;
	isShow: number;
	name: string;
	desc: string;
	avatar: string;
	qrCode: string;
	inputA: string;
	inputB: string;
}

/** go-lottery's `Sponsor`: camelCase except `qr_code`. */
export interface SponsorView {
	id: number;
	userId: number;
	type: number;
	appletType: number;
	isShow: number;
	name: string;
	desc: string;
	avatar: string;
	qr_code: string;
	inputA: string;
	inputB: string;
}

export function toSponsorView(s: SponsorRecord): SponsorView {
	return {
		id: Number(s.id),
		userId: Number(s.userId),
		type: s.type,
		appletType: s.appletType,
		isShow: s.isShow,
		name: s.name,
		desc: s.desc,
		avatar: s.avatar,
		qr_code: s.qrCode,
		inputA: s.inputA,
		inputB: s.inputB,
	};
}
