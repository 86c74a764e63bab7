import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UniqueConstraintError } from "sequelize";
import { migrations } from "../../deploy/migrations";
import { loadConfig } from "../../lib/config";
import { createMigrator, createSequelize, migrate } from "../../lib/database";
import { defineModels } from "../../models";
import { backend, createMysqlDatabase } from "../support/system";

/** A fresh, empty database of the suite's backend. */
async function freshTarget(): Promise<{ config: ReturnType<typeof loadConfig>; drop: () => Promise<void> }> {
	if (backend() === "cluster") {
		const db = await createMysqlDatabase("lt_migrate");
		return { config: loadConfig({ DB_URI: db.uri }), drop: db.drop };
	}
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lottery-migrate-"));
	return { config: loadConfig({ DATA_DIR: dir }), drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

describe(`migrations (${process.env.TEST_BACKEND})`, () => {
	it("are applied exactly once when several nodes start at the same moment", async () => {
		const target = await freshTarget();
		const nodes = Array.from({ length: 4 }, () => createSequelize(target.config));
		try {
			const applied = await Promise.all(nodes.map(db => migrate(db)));
			const all = applied.flat();
			expect(all.sort()).toEqual(migrations.map(m => m.name).sort());
			expect(applied.filter(a => a.length > 0)).toHaveLength(1);
			// and again, later: nothing to do
			expect(await migrate(nodes[0])).toEqual([]);
			const executed = await createMigrator(nodes[1]).executed();
			expect(executed.map(m => m.name)).toEqual(migrations.map(m => m.name));
		} finally {
			await Promise.all(nodes.map(db => db.close()));
			await target.drop();
		}
	});

	it("create the unique constraints the code relies on, and roll back cleanly", async () => {
		const target = await freshTarget();
		const db = createSequelize(target.config);
		try {
			await migrate(db);
			const { User, UserAuth } = defineModels(db);
			await User.create({ mobile: "13800000000" });
			await expect(User.create({ mobile: "13800000000" })).rejects.toBeInstanceOf(UniqueConstraintError);
			// accounts without a number (WeChat) coexist
			await User.create({ mobile: null });
			await User.create({ mobile: null });
			await UserAuth.create({ userId: 2, authType: "wxMini", authKey: "o1" });
			await expect(UserAuth.create({ userId: 3, authType: "wxMini", authKey: "o1" })).rejects.toBeInstanceOf(UniqueConstraintError);

			await createMigrator(db).down({ to: 0 });
			const tables = await db.getQueryInterface().showAllTables();
			expect(tables.filter(t => t !== "schema_migrations")).toEqual([]);
		} finally {
			await db.close();
			await target.drop();
		}
	});
});
