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

export interface LotteryRow extends Model<InferAttributes<LotteryRow>, InferCreationAttributes<LotteryRow>> {
	id: CreationOptional<number>;
	userId: number;
	name: string;
	thumb: string;
	introduce: string;
	state: number;
	publishTime: number | null;
	announceType: number;
	announceTime: number;
	joinNumber: number;
	participantCount: CreationOptional<number>;
	awardDeadline: number;
	isSelected: CreationOptional<number>;
	announcedTime: CreationOptional<number | null>;
	cancelTime: CreationOptional<number | null>;
	sponsorId: number;
	isClocked: number;
	clockTask: string | null;
	seed: CreationOptional<string | null>;
	seedCommitment: CreationOptional<string | null>;
	drawAlgorithm: CreationOptional<string | null>;
	participantsHash: CreationOptional<string | null>;
	drawOwner: CreationOptional<string | null>;
	drawLeaseUntil: CreationOptional<number | null>;
	drawAttempts: CreationOptional<number>;
	drawError: CreationOptional<string | null>;
	createTime: CreationOptional<Date>;
	updateTime: CreationOptional<Date>;
}

export interface InstantLogRow extends Model<InferAttributes<InstantLogRow>, InferCreationAttributes<InstantLogRow>> {
	id: CreationOptional<number>;
	lotteryId: number;
	/** null until the chainer gives the outcome its place in the chain */
	seq: CreationOptional<number | null>;
	userId: number;
	prizeId: number;
	roll: number;
	drawTime: number;
	prevHash: CreationOptional<string | null>;
	hash: CreationOptional<string | null>;
}

export interface PrizeRow extends Model<InferAttributes<PrizeRow>, InferCreationAttributes<PrizeRow>> {
	id: CreationOptional<number>;
	lotteryId: number;
	type: number;
	name: string;
	level: number;
	thumb: string;
	count: number;
	grantType: number;
	probability: number | null;
	stock: number;
	createTime: CreationOptional<Date>;
	updateTime: CreationOptional<Date>;
}

export interface ParticipationRow extends Model<InferAttributes<ParticipationRow>, InferCreationAttributes<ParticipationRow>> {
	id: CreationOptional<number>;
	lotteryId: number;
	userId: number;
	isWon: CreationOptional<number>;
	prizeId: CreationOptional<number>;
	createTime: CreationOptional<Date>;
	updateTime: CreationOptional<Date>;
}

export interface ClaimRow extends Model<InferAttributes<ClaimRow>, InferCreationAttributes<ClaimRow>> {
	id: CreationOptional<number>;
	lotteryId: number;
	prizeId: number;
	userId: number;
	grantType: number;
	contactName: string;
	contactPhone: string;
	address: string;
	remark: string;
	state: number;
	deliveredTime: CreationOptional<number | null>;
	deliveryNote: CreationOptional<string>;
	createTime: CreationOptional<Date>;
	updateTime: CreationOptional<Date>;
}

export interface Models {
	User: ModelStatic<UserRow>;
	UserAuth: ModelStatic<UserAuthRow>;
	Sponsor: ModelStatic<SponsorRow>;
	Lottery: ModelStatic<LotteryRow>;
	Prize: ModelStatic<PrizeRow>;
	Participation: ModelStatic<ParticipationRow>;
	Claim: ModelStatic<ClaimRow>;
	InstantLog: ModelStatic<InstantLogRow>;
}

// Factories, not shared objects: Sequelize writes the column name into each attribute definition it is given.
const id = () => ({ type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true });
const text = (len: number) => ({ type: DataTypes.STRING(len), allowNull: false, defaultValue: "" });
const tinyint = () => ({ type: DataTypes.TINYINT, allowNull: false, defaultValue: 0 });
const bigint = () => ({ type: DataTypes.BIGINT, allowNull: false });
const int = () => ({ type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 });
/** Unix seconds (views convert with Number(): MySQL may hand BIGINT back as a string). */
const unix = (allowNull = false) => ({ type: DataTypes.BIGINT, allowNull, ...(allowNull ? {} : { defaultValue: 0 }) });
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

	const Lottery = sequelize.define<LotteryRow>("Lottery", {
		id: id(),
		userId: bigint(),
		name: text(50),
		thumb: text(255),
		introduce: text(1000),
		state: tinyint(),
		publishTime: unix(true),
		announceType: tinyint(),
		announceTime: unix(),
		joinNumber: int(),
		participantCount: int(),
		awardDeadline: unix(),
		isSelected: tinyint(),
		announcedTime: unix(true),
		cancelTime: unix(true),
		sponsorId: bigint(),
		isClocked: tinyint(),
		clockTask: { type: DataTypes.TEXT, allowNull: true },
		seed: { type: DataTypes.STRING(64), allowNull: true },
		seedCommitment: { type: DataTypes.STRING(64), allowNull: true },
		drawAlgorithm: { type: DataTypes.STRING(32), allowNull: true },
		participantsHash: { type: DataTypes.STRING(64), allowNull: true },
		drawOwner: { type: DataTypes.STRING(128), allowNull: true },
		drawLeaseUntil: unix(true),
		drawAttempts: int(),
		drawError: { type: DataTypes.STRING(255), allowNull: true },
		...times(),
	}, options("lottery"));

	const Prize = sequelize.define<PrizeRow>("Prize", {
		id: id(),
		lotteryId: bigint(),
		type: tinyint(),
		name: text(50),
		level: int(),
		thumb: text(255),
		count: int(),
		grantType: tinyint(),
		probability: { type: DataTypes.INTEGER, allowNull: true },
		stock: int(),
		...times(),
	}, options("lottery_prize"));

	const Participation = sequelize.define<ParticipationRow>("Participation", {
		id: id(),
		lotteryId: bigint(),
		userId: bigint(),
		isWon: tinyint(),
		prizeId: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
		...times(),
	}, options("lottery_participation"));

	const Claim = sequelize.define<ClaimRow>("Claim", {
		id: id(),
		lotteryId: bigint(),
		prizeId: bigint(),
		userId: bigint(),
		grantType: tinyint(),
		contactName: text(50),
		contactPhone: text(20),
		address: text(255),
		remark: text(500),
		state: tinyint(),
		deliveredTime: unix(true),
		deliveryNote: text(255),
		...times(),
	}, options("prize_claim"));

	const InstantLog = sequelize.define<InstantLogRow>("InstantLog", {
		id: id(),
		lotteryId: bigint(),
		seq: { type: DataTypes.INTEGER, allowNull: true },
		userId: bigint(),
		prizeId: bigint(),
		roll: int(),
		drawTime: unix(),
		prevHash: { type: DataTypes.STRING(64), allowNull: true },
		hash: { type: DataTypes.STRING(64), allowNull: true },
	}, { tableName: "instant_draw_log", timestamps: false });

	const models = { User, UserAuth, Sponsor, Lottery, Prize, Participation, Claim, InstantLog };
	cache.set(sequelize, models);
	return models;
}
