import { DataTypes, type QueryInterface } from "sequelize";
import type { Migration } from "./index";

const tableOptions = { charset: "utf8mb4", collate: "utf8mb4_unicode_ci" };

const timestamps = {
	create_time: { type: DataTypes.DATE, allowNull: false },
	update_time: { type: DataTypes.DATE, allowNull: false },
};

/** usercenter: users, their third-party logins (WeChat mini program) and their sponsors. */
export const migration: Migration = {
	name: "0001-users",
	async up(qi: QueryInterface) {
		await qi.createTable("user", {
			id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
			// NULL for accounts made through WeChat: many of them coexist under the unique index.
			mobile: { type: DataTypes.STRING(11), allowNull: true },
			password: { type: DataTypes.STRING(255), allowNull: false, defaultValue: "" },
			nickname: { type: DataTypes.STRING(255), allowNull: false, defaultValue: "" },
			sex: { type: DataTypes.TINYINT, allowNull: false, defaultValue: 0 },
			avatar: { type: DataTypes.STRING(255), allowNull: false, defaultValue: "" },
			info: { type: DataTypes.STRING(255), allowNull: false, defaultValue: "" },
			is_admin: { type: DataTypes.TINYINT, allowNull: false, defaultValue: 0 },
			signature: { type: DataTypes.STRING(200), allowNull: false, defaultValue: "" },
			location_name: { type: DataTypes.STRING(100), allowNull: false, defaultValue: "" },
			longitude: { type: DataTypes.DOUBLE, allowNull: false, defaultValue: 0 },
			latitude: { type: DataTypes.DOUBLE, allowNull: false, defaultValue: 0 },
			...timestamps,
		}, tableOptions);
		await qi.addIndex("user", ["mobile"], { name: "uk_user_mobile", unique: true });

		await qi.createTable("user_auth", {
			id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
			user_id: { type: DataTypes.BIGINT, allowNull: false },
			auth_type: { type: DataTypes.STRING(12), allowNull: false },
			auth_key: { type: DataTypes.STRING(64), allowNull: false },
			...timestamps,
		}, tableOptions);
		await qi.addIndex("user_auth", ["auth_type", "auth_key"], { name: "uk_user_auth_type_key", unique: true });
		await qi.addIndex("user_auth", ["user_id", "auth_type"], { name: "uk_user_auth_user_type", unique: true });

		await qi.createTable("user_sponsor", {
			id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
			user_id: { type: DataTypes.BIGINT, allowNull: false },
			type: { type: DataTypes.TINYINT, allowNull: false, defaultValue: 0 },
			applet_type: { type: DataTypes.TINYINT, allowNull: false, defaultValue: 0 },
			is_show: { type: DataTypes.TINYINT, allowNull: false, defaultValue: 0 },
			name: { type: DataTypes.STRING(255), allowNull: false, defaultValue: "" },
			desc: { type: DataTypes.STRING(255), allowNull: false, defaultValue: "" },
			avatar: { type: DataTypes.STRING(255), allowNull: false, defaultValue: "" },
			qr_code: { type: DataTypes.STRING(255), allowNull: false, defaultValue: "" },
			input_a: { type: DataTypes.STRING(255), allowNull: false, defaultValue: "" },
			input_b: { type: DataTypes.STRING(255), allowNull: false, defaultValue: "" },
			...timestamps,
		}, tableOptions);
		await qi.addIndex("user_sponsor", ["user_id", "id"], { name: "idx_user_sponsor_user" });
	},
	async down(qi: QueryInterface) {
		await qi.dropTable("user_sponsor");
		await qi.dropTable("user_auth");
		await qi.dropTable("user");
	},
};
