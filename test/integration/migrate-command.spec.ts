import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { backend, createMysqlDatabase } from "../support/system";

const root = path.resolve(__dirname, "../..");

describe(`npm run migrate (${process.env.TEST_BACKEND})`, () => {
	it("applies, reports and reverts migrations from the command line", async () => {
		let env: Record<string, string>;
		let cleanup: () => Promise<void>;
		if (backend() === "cluster") {
			const db = await createMysqlDatabase("lt_cli");
			env = { DB_URI: db.uri };
			cleanup = db.drop;
		} else {
			const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lottery-cli-"));
			env = { DATA_DIR: dir };
			cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
		}
		const run = (...args: string[]) => execFileSync("npm", ["run", "--silent", "migrate", "--", ...args], { cwd: root, env: { ...process.env, ...env }, encoding: "utf8" });
		try {
			expect(run("status")).toMatch(/pending {2}0001-users/);
			expect(run()).toMatch(/applied to (mysql|sqlite): 0001-users/);
			expect(run()).toMatch(/schema is up to date/);
			expect(run("status")).toMatch(/applied {2}0001-users/);
			expect(run("down")).toMatch(/reverted: 0004-outbox/);
			expect(run("status")).toMatch(/applied {2}0003-draw\npending {2}0004-outbox/);
			expect(() => run("sideways")).toThrow();
		} finally {
			await cleanup();
		}
	});
});
