import { loadConfig } from "../lib/config";
import { createMigrator, createSequelize, databaseTarget, migrate } from "../lib/database";

/**
 * `npm run migrate` — applies pending migrations to DB_URI (or the embedded SQLite file), under the same
 * cluster-wide lock the nodes take at start. `npm run migrate -- status` lists them; `-- down` undoes the last.
 */
async function main(): Promise<void> {
	const command = process.argv[2] ?? "up";
	const config = loadConfig();
	const sequelize = createSequelize(config);
	const target = databaseTarget(config);
	try {
		if (command === "up") {
			const applied = await migrate(sequelize);
			console.log(applied.length ? `applied to ${target.dialect}: ${applied.join(", ")}` : `${target.dialect} schema is up to date`);
		} else if (command === "status") {
			const migrator = createMigrator(sequelize);
			for (const m of await migrator.executed()) console.log(`applied  ${m.name}`);
			for (const m of await migrator.pending()) console.log(`pending  ${m.name}`);
		} else if (command === "down") {
			const undone = await createMigrator(sequelize).down();
			console.log(undone.length ? `reverted: ${undone.map(m => m.name).join(", ")}` : "nothing to revert");
		} else {
			throw new Error(`unknown command '${command}': use up, status or down`);
		}
	} finally {
		await sequelize.close();
	}
}

main().catch(err => {
	console.error(err instanceof Error ? err.message : err);
	process.exit(1);
});
