import argon2 from "argon2";

/**
 * Passwords are stored as argon2id hashes (PHC strings with their own salt and parameters), never MD5.
 * A hash made with older parameters still verifies after the parameters change.
 */
const HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => argon2.hash(password, HASH_OPTIONS);

/** A fixed hash to verify against when the account does not exist, so both paths take the same time. */
let decoy: Promise<string> | null = null;

export async function verifyPassword(hash: string | null | undefined, password: string): Promise<boolean> {
	if (!hash || !hash.startsWith("$argon2")) {
		decoy ??= hashPassword("decoy-password-for-timing");
		await argon2.verify(await decoy, password).catch(() => false);
		return false;
	}
	try {
		return await argon2.verify(hash, password);
	} catch {
		return false;
	}
}
