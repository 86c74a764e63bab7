import crypto from "node:crypto";

/** WeChat mini-program login: code2session and the decryption of `encryptedData`, per WeChat's documentation. */

export interface Code2SessionOk {
	openid: string;
	session_key: string;
	unionid?: string;
}

/** The decrypted user profile (getUserProfile / getPhoneNumber data carry different fields). */
export interface WxProfile {
	nickName?: string;
	avatarUrl?: string;
	phoneNumber?: string;
	purePhoneNumber?: string;
	watermark?: { appid?: string; timestamp?: number };
	[key: string]: unknown;
}

/**
 * AES-128-CBC with PKCS#7 padding; key = base64(session_key), iv = base64(iv). The plaintext is JSON whose
 * watermark.appid must be our own app id, or the data was made for another app.
 * Throws on any problem; the caller maps it to a 400.
 */
export function decryptWxData(sessionKey: string, encryptedData: string, iv: string, expectedAppId: string): WxProfile {
	const key = Buffer.from(sessionKey, "base64");
	const ivBuf = Buffer.from(iv, "base64");
	if (key.length !== 16) throw new Error("session_key is not 16 bytes");
	if (ivBuf.length !== 16) throw new Error("iv is not 16 bytes of base64");
	const decipher = crypto.createDecipheriv("aes-128-cbc", key, ivBuf);
	const plain = Buffer.concat([decipher.update(Buffer.from(encryptedData, "base64")), decipher.final()]).toString("utf8");
	const profile = JSON.parse(plain) as WxProfile;
	if (typeof profile !== "object" || profile === null) throw new Error("decrypted data is not an object");
	if (profile.watermark?.appid !== expectedAppId) throw new Error("watermark appid does not match this app");
	return profile;
}

/** The inverse, for tests and local tools: what WeChat would send the client. */
export function encryptWxData(sessionKey: string, iv: string, data: object): string {
	const cipher = crypto.createCipheriv("aes-128-cbc", Buffer.from(sessionKey, "base64"), Buffer.from(iv, "base64"));
	return Buffer.concat([cipher.update(JSON.stringify(data), "utf8"), cipher.final()]).toString("base64");
}

export type Code2SessionResult =
	| { ok: true; session: Code2SessionOk }
	| { ok: false; errcode: number; errmsg: string };

/** Calls `GET {base}/sns/jscode2session`. Network and format failures throw; WeChat's refusals are returned. */
export async function code2Session(base: string, appId: string, secret: string, code: string, timeoutMs = 5000): Promise<Code2SessionResult> {
	const url = new URL(`${base}/sns/jscode2session`);
	url.searchParams.set("appid", appId);
	url.searchParams.set("secret", secret);
	url.searchParams.set("js_code", code);
	url.searchParams.set("grant_type", "authorization_code");
	const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
	if (!res.ok) throw new Error(`code2session answered HTTP ${res.status}`);
	const body = (await res.json()) as Partial<Code2SessionOk> & { errcode?: number; errmsg?: string };
	if (body.errcode && body.errcode !== 0) return { ok: false, errcode: body.errcode, errmsg: body.errmsg ?? "" };
	if (typeof body.openid !== "string" || !body.openid || typeof body.session_key !== "string") {
		throw new Error("code2session answer has no openid/session_key");
	}
	return { ok: true, session: { openid: body.openid, session_key: body.session_key, unionid: body.unionid } };
}

/**
 * WeChat's server verification: signature = hex SHA-1 of token, timestamp and nonce sorted and joined.
 * Compared in constant time.
 */
export function checkWxSignature(token: string, timestamp: string, nonce: string, signature: string): boolean {
	if (!token || !signature) return false;
	const expected = crypto.createHash("sha1").update([token, timestamp, nonce].sort().join("")).digest("hex");
	const a = Buffer.from(expected);
	const b = Buffer.from(signature.toLowerCase());
	return a.length === b.length && crypto.timingSafeEqual(a, b);
}
