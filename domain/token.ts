import crypto from "node:crypto";
import jwt from "jsonwebtoken";

const keys = new Map<string, crypto.KeyObject>();

/**
 * The secret as a KeyObject, made once. Given a plain string, jsonwebtoken first tries it as a public key and
 * catches the failure on every call, which was a fifth of a participation's CPU.
 */
function secretKey(secret: string): crypto.KeyObject {
	let key = keys.get(secret);
	if (!key) {
		key = crypto.createSecretKey(Buffer.from(secret, "utf8"));
		keys.set(secret, key);
	}
	return key;
}

/** Longer than any token this system issues by far; the gateway refuses longer ones before asking anyone. */
export const MAX_TOKEN_LENGTH = 4096;

/** What login, register, wxMiniAuth and refresh answer with (go-lottery's shape). */
export interface TokenPair {
	accessToken: string;
	/** Unix seconds when the token stops being accepted. */
	accessExpire: number;
	/** Unix seconds after which the client should refresh. */
	refreshAfter: number;
}

export interface TokenClaims {
	userId: number;
	/** Unix seconds. */
	exp: number;
}

/** HS256 access token carrying go-lottery's `jwtUserId` claim. */
export function issueToken(userId: number, secret: string, expireSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): TokenPair {
	const accessToken = jwt.sign({ jwtUserId: userId, iat: nowSeconds, exp: nowSeconds + expireSeconds }, secretKey(secret), { algorithm: "HS256" });
	return {
		accessToken,
		accessExpire: nowSeconds + expireSeconds,
		refreshAfter: nowSeconds + Math.floor(expireSeconds / 2),
	};
}

/** The token's claims, or null when it is malformed, forged, of another algorithm or expired. */
export function verifyToken(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): TokenClaims | null {
	try {
		const payload = jwt.verify(token, secretKey(secret), { algorithms: ["HS256"], clockTimestamp: nowSeconds });
		if (typeof payload !== "object" || payload === null) return null;
		const userId = (payload as Record<string, unknown>).jwtUserId;
		const exp = (payload as Record<string, unknown>).exp;
		if (typeof userId !== "number" || !Number.isSafeInteger(userId) || userId <= 0) return null;
		if (typeof exp !== "number") return null;
		return { userId, exp };
	} catch {
		return null;
	}
}
