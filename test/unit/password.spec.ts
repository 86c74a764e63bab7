import { hashPassword, verifyPassword } from "../../domain/password";

describe("passwords", () => {
	it("are stored as salted argon2id hashes and verified against them", async () => {
		const a = await hashPassword("correct horse");
		const b = await hashPassword("correct horse");
		expect(a).toMatch(/^\$argon2id\$v=19\$/);
		expect(a).not.toBe(b);
		expect(await verifyPassword(a, "correct horse")).toBe(true);
		expect(await verifyPassword(a, "correct horsE")).toBe(false);
	});

	it("never match for accounts without a password or with a legacy hash", async () => {
		expect(await verifyPassword("", "")).toBe(false);
		expect(await verifyPassword(null, "x")).toBe(false);
		// go-lottery's MD5 of "123456": not accepted as a credential
		expect(await verifyPassword("e10adc3949ba59abbe56e057f20f883e", "123456")).toBe(false);
	});
});
