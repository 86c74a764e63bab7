import { DataTypes, type QueryInterface } from "sequelize";
import type { Migration } from "./index";

const tableOptions = { charset: "utf8mb4", collate: "utf8mb4_unicode_ci" };

/** The transactional outbox of domain events, and the in-app inbox the notice service fills from them. */
export const migration: Migration = {
	name: "0004-outbox",
	async up(qi: QueryInterface) {
		await qi.createTable("outbox", {
			id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
			event_id: { type: DataTypes.STRING(36), allowNull: false },
			type: { type: DataTypes.STRING(64), allowNull: false },
			aggregate_type: { type: DataTypes.STRING(32), allowNull: false },
			aggregate_id: { type: DataTypes.STRING(64), allowNull: false },
			payload: { type: DataTypes.TEXT, allowNull: false },
			created_at: { type: DataTypes.BIGINT, allowNull: false },
			published_at: { type: DataTypes.BIGINT, allowNull: true },
			attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
			last_error: { type: DataTypes.STRING(255), allowNull: true },
		}, tableOptions);
		await qi.addIndex("outbox", ["event_id"], { name: "uk_outbox_event", unique: true });
		await qi.addIndex("outbox", ["published_at", "id"], { name: "idx_outbox_pending" });

		await qi.createTable("notice", {
			id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
			user_id: { type: DataTypes.BIGINT, allowNull: false },
			event_id: { type: DataTypes.STRING(36), allowNull: false },
			type: { type: DataTypes.STRING(32), allowNull: false },
			lottery_id: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
			title: { type: DataTypes.STRING(100), allowNull: false },
			content: { type: DataTypes.STRING(500), allowNull: false, defaultValue: "" },
			is_read: { type: DataTypes.TINYINT, allowNull: false, defaultValue: 0 },
			create_time: { type: DataTypes.BIGINT, allowNull: false },
		}, tableOptions);
		// One notice per event per user: a redelivered event adds nothing.
		await qi.addIndex("notice", ["event_id", "user_id"], { name: "uk_notice_event_user", unique: true });
		await qi.addIndex("notice", ["user_id", "id"], { name: "idx_notice_user" });

		// Deliveries to the outside (a signed webhook, WeChat subscription messages), retried by a worker so
		// that a slow or failing receiver never holds up the event consumer.
		await qi.createTable("notice_delivery", {
			id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
			event_id: { type: DataTypes.STRING(36), allowNull: false },
			user_id: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
			channel: { type: DataTypes.STRING(16), allowNull: false },
			payload: { type: DataTypes.TEXT, allowNull: false },
			// 0 pending, 1 delivered, 2 given up (refused for good, or out of attempts)
			state: { type: DataTypes.TINYINT, allowNull: false, defaultValue: 0 },
			attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
			next_attempt_at: { type: DataTypes.BIGINT, allowNull: false },
			last_error: { type: DataTypes.STRING(255), allowNull: true },
			create_time: { type: DataTypes.BIGINT, allowNull: false },
		}, tableOptions);
		await qi.addIndex("notice_delivery", ["event_id", "user_id", "channel"], { name: "uk_delivery_event_user_channel", unique: true });
		await qi.addIndex("notice_delivery", ["state", "next_attempt_at"], { name: "idx_delivery_due" });
	},
	async down(qi: QueryInterface) {
		await qi.dropTable("notice_delivery");
		await qi.dropTable("notice");
		await qi.dropTable("outbox");
	},
};
