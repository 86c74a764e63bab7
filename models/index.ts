import { DataTypes, Model, type ModelStatic, type Sequelize, type CreationOptional, type InferAttributes, type InferCreationAttributes } from "sequelize";

/**
 * Sequelize models over the tables that deploy/migrations creates. Models never create or alter tables:
 * the schema belongs to the migrations alone.
 */

export interface UserRow extends Model<InferAttributes<UserRow>, InferCreationAttributes<UserRow>> {
	id: CreationOptional<number>;
	mobile: string | null;
	password: CreationOptional<string>;
	nickname: CreationOptional<string>;
	sex: CreationOptional<number>;
	avatar: CreationOptional<string>;
	info: CreationOptional<string>;
	isAdmin: CreationOptional<number>;
	signature: CreationOptional<string>;
	locationName: CreationOptional<string>;
	longitude: CreationOptional<number>;
	latitude: CreationOptional<number>;
	createTime: CreationOptional<Date>;
	updateTime: CreationOptional<Date>;
}

export interface UserAuthRow extends Model<InferAttributes<UserAuthRow>, InferCreationAttributes<UserAuthRow>> {
	id: CreationOptional<number>;
	userId: number;
	authType: string;
	authKey: string;
	createTime: CreationOptional<Date>;
	updateTime: CreationOptional<Date>;
}

export interface SponsorRow extends Model<InferAttributes<SponsorRow>, InferCreationAttributes<SponsorRow>> {
	id: CreationOptional<number>;
	userId: number;
	type: number;
	appletType: number;
	isShow: number;
	name: string;
	desc: string;
	avatar: string;
	qrCode: string;
	inputA: string;
	inputB: string;
	createTime: CreationOptional<Date>;
	updateTime: CreationOptional<Date>;
}

export interface Models {
	User: ModelStatic<UserRow>;
	UserAuth: ModelStatic<UserAuthRow>;
	Sponsor: ModelStatic<SponsorRow>;
}

// Factories, not shared objects: Sequelize writes the column name into each attribute definition it is given.
const id = () => ({ type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true });
const text = (len: number) => ({ type: DataTypes.STRING(len), allowNull: false, defaultValue: "" });
const tinyint = () => ({ type: DataTypes.TINYINT, allowNull: false, defaultValue: 0 });
const bigint = () => ({ type: DataTypes.BIGINT, allowNull: false });
const times = () => ({ createTime: DataTypes.DATE, updateTime: DataTypes.DATE });
const options = (tableName: string) => ({ tableName, timestamps: true, createdAt: "createTime", updatedAt: "updateTime" });

const cache = new WeakMap<Sequelize, Models>();

/** The models bound to one Sequelize instance (defined once per instance). */
export function defineModels(sequelize: Sequelize): Models {
	const existing = cache.get(sequelize);
	if (existing) return existing;

	const User = sequelize.define<UserRow>("User", {
		id: id(),
		mobile: { type: DataTypes.STRING(11), allowNull: true },
		password: text(255),
		nickname: text(255),
		sex: tinyint(),
		avatar: text(255),
		info: text(255),
		isAdmin: tinyint(),
		signature: text(200),
		locationName: text(100),
		longitude: { type: DataTypes.DOUBLE, allowNull: false, defaultValue: 0 },
		latitude: { type: DataTypes.DOUBLE, allowNull: false, defaultValue: 0 },
		...times(),
	}, options("user"));

	const UserAuth = sequelize.define<UserAuthRow>("UserAuth", {
		id: id(),
		userId: bigint(),
		authType: { type: DataTypes.STRING(12), allowNull: false },
		authKey: { type: DataTypes.STRING(64), allowNull: false },
		...times(),
	}, options("user_auth"));

	const Sponsor = sequelize.define<SponsorRow>("Sponsor", {
		id: id(),
		userId: bigint(),
		type: tinyint(),
		appletType: tinyint(),
		isShow: tinyint(),
		name: text(255),
		desc: text(255),
		avatar: text(255),
		qrCode: text(255),
		inputA: text(255),
		inputB: text(255),
		...times(),
	}, options("user_sponsor"));

	const models = { User, UserAuth, Sponsor };
	cache.set(sequelize, models);
	return models;
}
