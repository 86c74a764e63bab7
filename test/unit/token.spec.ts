import jwt from "jsonwebtoken";
import { issueToken, verifyToken } from "../../domain/token";

describe("access tokens", () => {
	const now = 1_800_000_000;

	it("carry go-lottery's jwtUserId claim and its expiry times", () => {
		const t = issueToken(42, "s3cret", 3600, now);
		expect(t.accessExpire).toBe(now + 3600);
		expect(t.refreshAfter).toBe(now + 1800);
		expect(jwt.decode(t.accessToken)).toMatchObject({ jwtUserId: 42, exp: now + 3600 });
		expect(verifyToken(t.accessToken, "s3cret", now + 10)).toEqual({ userId: 42, exp: now + 3600 });
	});

	it("are refused when expired, forged, tampered with, unsigned or without a user", () => {
		const t = issueToken(42, "s3cret", 3600, now).accessToken;
		expect(verifyToken(t, "s3cret", now + 3601)).toBeNull();
		expect(verifyToken(t, "other", now)).toBeNull();
		const [h, , s] = t.split(".");
		const payload = Buffer.from(JSON.stringify({ jwtUserId: 1, exp: now + 3600 })).toString("base64url");
		expect(verifyToken(`${h}.${payload}.${s}`, "s3cret", now)).toBeNull();
		const unsigned = jwt.sign({ jwtUserId: 42, exp: now + 3600 }, "", { algorithm: "none" as jwt.Algorithm });
		expect(verifyToken(unsigned, "s3cret", now)).toBeNull();
		const noUser = jwt.sign({ sub: "42", exp: now + 3600 }, "s3cret");
		expect(verifyToken(noUser, "s3cret", now)).toBeNull();
		expect(verifyToken("garbage", "s3cret", now)).toBeNull();
	});
});
