import { DataTypes, type QueryInterface } from "sequelize";
import type { Migration } from "./index";

const tableOptions = { charset: "utf8mb4", collate: "utf8mb4_unicode_ci" };
const timestamps = {
	create_time: { type: DataTypes.DATE, allowNull: false },
	update_time: { type: DataTypes.DATE, allowNull: false },
};
const id = () => ({ type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true });
const tinyint = (def = 0) => ({ type: DataTypes.TINYINT, allowNull: false, defaultValue: def });
const text = (len: number) => ({ type: DataTypes.STRING(len), allowNull: false, defaultValue: "" });
/** Business times are unix seconds, as the API speaks them: portable and comparable in SQL on both databases. */
const unixTime = (allowNull = false) => ({ type: DataTypes.BIGINT, allowNull, ...(allowNull ? {} : { defaultValue: 0 }) });

/** Lotteries with their prizes (one aggregate), participations, and prize claims. */
export const migration: Migration = {
	name: "0002-lottery",
	async up(qi: QueryInterface) {
		await qi.createTable("lottery", {
			id: id(),
			user_id: { type: DataTypes.BIGINT, allowNull: false },
			name: text(50),
			thumb: text(255),
			introduce: text(1000),
			// 0 draft, 1 open, 2 announced, 3 cancelled: one indexed column for every list.
			state: tinyint(),
			publish_time: unixTime(true),
			announce_type: tinyint(1),
			announce_time: unixTime(),
			join_number: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
			participant_count: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
			award_deadline: unixTime(),
			is_selected: tinyint(),
			announced_time: unixTime(true),
			cancel_time: unixTime(true),
			sponsor_id: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
			is_clocked: tinyint(),
			clock_task: { type: DataTypes.TEXT, allowNull: true },
			...timestamps,
		}, tableOptions);
		await qi.addIndex("lottery", ["state", "id"], { name: "idx_lottery_state_id" });
		await qi.addIndex("lottery", ["state", "is_selected", "id"], { name: "idx_lottery_state_selected_id" });
		await qi.addIndex("lottery", ["user_id", "id"], { name: "idx_lottery_user_id" });

		await qi.createTable("lottery_prize", {
			id: id(),
			lottery_id: { type: DataTypes.BIGINT, allowNull: false },
			type: tinyint(1),
			name: text(50),
			level: { type: DataTypes.INTEGER, allowNull: false },
			thumb: text(255),
			count: { type: DataTypes.INTEGER, allowNull: false },
			grant_type: tinyint(1),
			// basis points out of 10000 for instant lotteries; NULL = go-lottery's table by level
			probability: { type: DataTypes.INTEGER, allowNull: true },
			// what is left to win (instant lotteries take from it)
			stock: { type: DataTypes.INTEGER, allowNull: false },
			...timestamps,
		}, tableOptions);
		await qi.addIndex("lottery_prize", ["lottery_id", "level"], { name: "uk_lottery_prize_level", unique: true });

		await qi.createTable("lottery_participation", {
			id: id(),
			lottery_id: { type: DataTypes.BIGINT, allowNull: false },
			user_id: { type: DataTypes.BIGINT, allowNull: false },
			is_won: tinyint(),
			prize_id: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
			...timestamps,
		}, tableOptions);
		// One participation per user per lottery, enforced by the database.
		await qi.addIndex("lottery_participation", ["lottery_id", "user_id"], { name: "uk_participation_lottery_user", unique: true });
		await qi.addIndex("lottery_participation", ["user_id", "id"], { name: "idx_participation_user_id" });
		await qi.addIndex("lottery_participation", ["user_id", "is_won", "id"], { name: "idx_participation_user_won" });
		await qi.addIndex("lottery_participation", ["lottery_id", "is_won", "prize_id"], { name: "idx_participation_lottery_won" });

		await qi.createTable("prize_claim", {
			id: id(),
			lottery_id: { type: DataTypes.BIGINT, allowNull: false },
			prize_id: { type: DataTypes.BIGINT, allowNull: false },
			user_id: { type: DataTypes.BIGINT, allowNull: false },
			grant_type: tinyint(1),
			contact_name: text(50),
			contact_phone: text(20),
			address: text(255),
			remark: text(500),
			// 1 claimed, 2 delivered
			state: tinyint(1),
			delivered_time: unixTime(true),
			delivery_note: text(255),
			...timestamps,
		}, tableOptions);
		await qi.addIndex("prize_claim", ["lottery_id", "user_id"], { name: "uk_prize_claim_lottery_user", unique: true });
	},
	async down(qi: QueryInterface) {
		await qi.dropTable("prize_claim");
		await qi.dropTable("lottery_participation");
		await qi.dropTable("lottery_prize");
		await qi.dropTable("lottery");
	},
};
