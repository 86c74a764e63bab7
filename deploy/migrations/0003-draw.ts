import { DataTypes, type ModelAttributeColumnOptions, type QueryInterface } from "sequelize";
import type { Migration } from "./index";

const tableOptions = { charset: "utf8mb4", collate: "utf8mb4_unicode_ci" };

/** Draws: the commitment and its reveal, the lease that makes a draw exactly-once, and the instant-draw log. */
export const migration: Migration = {
	name: "0003-draw",
	async up(qi: QueryInterface) {
		const add = (column: string, spec: ModelAttributeColumnOptions) => qi.addColumn("lottery", column, spec);
		// The secret seed (hex) is stored at publish time and revealed only by drawProof after the draw.
		await add("seed", { type: DataTypes.STRING(64), allowNull: true });
		await add("seed_commitment", { type: DataTypes.STRING(64), allowNull: true });
		await add("draw_algorithm", { type: DataTypes.STRING(32), allowNull: true });
		await add("participants_hash", { type: DataTypes.STRING(64), allowNull: true });
		await add("draw_owner", { type: DataTypes.STRING(128), allowNull: true });
		// milliseconds since the epoch: the claim is void after it (the claiming node died)
		await add("draw_lease_until", { type: DataTypes.BIGINT, allowNull: true });
		await add("draw_attempts", { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 });
		await add("draw_error", { type: DataTypes.STRING(255), allowNull: true });
		await qi.addIndex("lottery", ["state", "announce_type", "announce_time"], { name: "idx_lottery_due" });

		// Outcomes are written with the participation; a chainer then gives each its place (seq) and hash, in
		// one transaction per batch, so that requests never queue on the chain's head.
		await qi.createTable("instant_draw_log", {
			id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
			lottery_id: { type: DataTypes.BIGINT, allowNull: false },
			seq: { type: DataTypes.INTEGER, allowNull: true },
			user_id: { type: DataTypes.BIGINT, allowNull: false },
			prize_id: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
			roll: { type: DataTypes.INTEGER, allowNull: false },
			draw_time: { type: DataTypes.BIGINT, allowNull: false },
			prev_hash: { type: DataTypes.STRING(64), allowNull: true },
			hash: { type: DataTypes.STRING(64), allowNull: true },
		}, tableOptions);
		await qi.addIndex("instant_draw_log", ["lottery_id", "seq"], { name: "uk_instant_log_seq", unique: true });
		await qi.addIndex("instant_draw_log", ["lottery_id", "user_id"], { name: "uk_instant_log_user", unique: true });
		await qi.addIndex("instant_draw_log", ["seq"], { name: "idx_instant_log_unchained" });
		// The head of each instant lottery's chain, in a row of its own: linking locks it, not the lottery row
		// that every instant draw reads under a shared lock.
		await qi.createTable("instant_chain", {
			lottery_id: { type: DataTypes.BIGINT, primaryKey: true },
			seq: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
			head: { type: DataTypes.STRING(64), allowNull: false },
		}, tableOptions);
	},
	async down(qi: QueryInterface) {
		await qi.dropTable("instant_chain");
		await qi.dropTable("instant_draw_log");
		await qi.removeIndex("lottery", "idx_lottery_due");
		for (const c of ["seed", "seed_commitment", "draw_algorithm", "participants_hash", "draw_owner", "draw_lease_until", "draw_attempts", "draw_error"]) {
			await qi.removeColumn("lottery", c);
		}
	},
};
