import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Sequelize, Transaction, type Options } from "sequelize";
import { SequelizeStorage, Umzug } from "umzug";
import { migrations } from "../deploy/migrations";
import type { Config } from "./config";
import { MysqlPacked, SequelizePacked, type PackedTransactions } from "./packed-sql";

type LogFn = (msg: string) => void;

export type Dialect = "mysql" | "sqlite";

/** Where this node's data lives: MySQL/MariaDB when DB_URI is set, a SQLite file under DATA_DIR otherwise. */
export function databaseTarget(config: Pick<Config, "dbUri" | "dataDir">): { dialect: Dialect; key: string } {
	if (config.dbUri) {
		if (!/^mysql:\/\//.test(config.dbUri) && !/^mariadb:\/\//.test(config.dbUri)) {
			throw new Error("DB_URI must be a mysql:// URI (MySQL 8 or MariaDB)");
		}
		return { dialect: "mysql", key: config.dbUri.replace(/^mariadb:/, "mysql:") };
	}
	return { dialect: "sqlite", key: path.join(config.dataDir, "lottery.sqlite") };
}

/**
 * sqlite3 with a busy timeout on every connection: Sequelize opens one connection per transaction, and
 * without it a second writer fails at once with SQLITE_BUSY instead of waiting its turn.
 */
function sqliteModule(): unknown {
	// eslint-disable-next-line @typescript-eslint/no-var-requires
	const sqlite3 = require("sqlite3");
	class Database extends sqlite3.Database {
		constructor(file: string, mode: number, cb: (err: Error | null) => void) {
			super(file, mode, (err: Error | null) => {
				if (!err) (this as unknown as { configure(k: string, v: number): void }).configure("busyTimeout", 15_000);
				cb(err);
			});
		}
	}
	return { ...sqlite3, Database };
}

/** A FIFO lock: `run(fn)` starts fn when every earlier holder has finished. */
class Mutex {
	private tail: Promise<void> = Promise.resolve();
	async acquire(): Promise<() => void> {
		let release!: () => void;
		const held = new Promise<void>(resolve => (release = resolve));
		const before = this.tail;
		this.tail = before.then(() => held);
		await before;
		return release;
	}
}

const WRITE = /^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b/i;

/**
 * SQLite has one writer at a time. Sequelize gives each transaction its own connection, and a connection
 * waiting for the lock blocks one of libuv's few threads: enough waiters and the lock holder itself can
 * no longer run — a deadlock until the busy timeout. So within the process writers take turns here
 * first: a transaction for its whole life, any other write for its statement. Reads (WAL) never wait.
 */
function serializeSqliteWrites(sequelize: Sequelize): void {
	const mutex = new Mutex();
	const seq = sequelize as unknown as {
		transaction(...args: unknown[]): Promise<unknown>;
		query(sql: unknown, options?: { transaction?: unknown }): Promise<unknown>;
	};
	const transaction = seq.transaction.bind(sequelize);
	seq.transaction = async (...args: unknown[]) => {
		const release = await mutex.acquire();
		const callback = args.find(a => typeof a === "function");
		if (callback) {
			try {
				return await transaction(...args);
			} finally {
				release();
			}
		}
		// Unmanaged: the turn ends with commit or rollback.
		try {
			const t = (await transaction(...args)) as { commit(): Promise<void>; rollback(): Promise<void> };
			const commit = t.commit.bind(t);
			const rollback = t.rollback.bind(t);
			t.commit = () => commit().finally(release);
			t.rollback = () => rollback().finally(release);
			return t;
		} catch (err) {
			release();
			throw err;
		}
	};
	const query = seq.query.bind(sequelize);
	seq.query = async (sql: unknown, options?: { transaction?: unknown }) => {
		const text = typeof sql === "string" ? sql : (sql as { query?: string })?.query ?? "";
		if (options?.transaction || !WRITE.test(text)) return query(sql, options);
		const release = await mutex.acquire();
		try {
			return await query(sql, options);
		} finally {
			release();
		}
	};
}

export function createSequelize(config: Pick<Config, "dbUri" | "dataDir" | "dbPoolMax">): Sequelize {
	const target = databaseTarget(config);
	const common: Options = {
		logging: false,
		define: { underscored: true, freezeTableName: true },
	};
	if (target.dialect === "mysql") {
		return new Sequelize(target.key, {
			...common,
			dialect: "mysql",
			pool: { max: config.dbPoolMax, min: 0, idle: 10_000, acquire: 30_000 },
			dialectOptions: { charset: "utf8mb4", supportBigNumbers: true, bigNumberStrings: false },
			timezone: "+00:00",
		});
	}
	fs.mkdirSync(path.dirname(target.key), { recursive: true });
	const sqlite = new Sequelize({
		...common,
		dialect: "sqlite",
		storage: target.key,
		dialectModule: sqliteModule() as object,
		// Writers queue for the lock at BEGIN instead of deadlocking when a reader upgrades.
		transactionType: Transaction.TYPES.IMMEDIATE,
	});
	serializeSqliteWrites(sqlite);
	return sqlite;
}

/** Runs `fn` while holding a cluster-wide lock, so that exactly one node migrates at a time. */
async function withMigrationLock<T>(sequelize: Sequelize, lockName: string, fn: () => Promise<T>): Promise<T> {
	if (sequelize.getDialect() === "mysql") {
		// A MySQL named lock belongs to one connection: take one out of the pool for as long as we hold it.
		const cm = sequelize.connectionManager as unknown as {
			getConnection(o: object): Promise<{ promise(): { query(sql: string, args: unknown[]): Promise<[Array<Record<string, unknown>>]> } }>;
			releaseConnection(c: unknown): Promise<void>;
		};
		const conn = await cm.getConnection({ type: "write" });
		try {
			const [rows] = await conn.promise().query("SELECT GET_LOCK(?, 120) AS locked", [lockName]);
			if (Number(rows[0]?.locked) !== 1) throw new Error(`could not take the migration lock '${lockName}' within 120 s`);
			try {
				return await fn();
			} finally {
				await conn.promise().query("SELECT RELEASE_LOCK(?)", [lockName]);
			}
		} finally {
			await cm.releaseConnection(conn);
		}
	}
	// SQLite: a lock file beside the database; a lock older than two minutes was left by a dead process.
	const storage = (sequelize as unknown as { options: { storage?: string } }).options.storage ?? ":memory:";
	if (storage === ":memory:") return fn();
	const lockFile = `${storage}.migrate.lock`;
	const deadline = Date.now() + 120_000;
	for (;;) {
		try {
			fs.writeFileSync(lockFile, String(process.pid), { flag: "wx" });
			break;
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
			const age = Date.now() - (fs.statSync(lockFile, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
			if (age > 120_000) fs.rmSync(lockFile, { force: true });
			else if (Date.now() > deadline) throw new Error(`could not take the migration lock ${lockFile} within 120 s`);
			else await sleep(50);
		}
	}
	try {
		return await fn();
	} finally {
		fs.rmSync(lockFile, { force: true });
	}
}

export function createMigrator(sequelize: Sequelize, log?: LogFn): Umzug<ReturnType<Sequelize["getQueryInterface"]>> {
	return new Umzug({
		migrations: migrations.map(m => ({
			name: m.name,
			up: ({ context }) => m.up(context),
			down: ({ context }) => m.down(context),
		})),
		context: sequelize.getQueryInterface(),
		storage: new SequelizeStorage({ sequelize, tableName: "schema_migrations" }),
		logger: log ? { info: e => log(`migration ${JSON.stringify(e)}`), warn: e => log(JSON.stringify(e)), error: e => log(JSON.stringify(e)), debug: () => undefined } : undefined,
	});
}

/** Applies pending migrations under the lock; returns the names this call applied (empty when up to date). */
export async function migrate(sequelize: Sequelize, log?: LogFn): Promise<string[]> {
	return withMigrationLock(sequelize, "lottery:migrate", async () => {
		if (sequelize.getDialect() === "sqlite") await sequelize.query("PRAGMA journal_mode=WAL");
		const applied = await createMigrator(sequelize, log).up();
		return applied.map(m => m.name);
	});
}

interface SharedDatabase {
	sequelize: Sequelize;
	refs: number;
	ready: Promise<void>;
}

const shared = new Map<string, SharedDatabase>();

/**
 * One Sequelize (one pool, or one SQLite file) per process and target, shared by every service of the
 * node; the first user migrates it. Released with releaseDatabase(); the last release closes it.
 */
export async function acquireDatabase(config: Config, log?: LogFn): Promise<Sequelize> {
	const { key } = databaseTarget(config);
	let entry = shared.get(key);
	if (!entry) {
		const sequelize = createSequelize(config);
		entry = {
			sequelize,
			refs: 0,
			ready: (async () => {
				await sequelize.authenticate();
				const applied = await migrate(sequelize, log);
				if (applied.length && log) log(`applied migrations: ${applied.join(", ")}`);
			})(),
		};
		shared.set(key, entry);
	}
	entry.refs++;
	try {
		await entry.ready;
	} catch (err) {
		await releaseDatabase(entry.sequelize);
		throw err;
	}
	return entry.sequelize;
}

export async function releaseDatabase(sequelize: Sequelize): Promise<void> {
	for (const [key, entry] of shared) {
		if (entry.sequelize !== sequelize) continue;
		entry.refs--;
		if (entry.refs <= 0) {
			shared.delete(key);
			const packed = packedByDb.get(sequelize);
			packedByDb.delete(sequelize);
			await packed?.close();
			await sequelize.close();
		}
		return;
	}
}

/** The databases this process has open, for readiness checks. */
export function activeDatabases(): Sequelize[] {
	return [...shared.values()].map(e => e.sequelize);
}

/**
 * What a locking read appends to take shared locks: `LOCK IN SHARE MODE` on MySQL/MariaDB; nothing on SQLite,
 * where a writer's `BEGIN IMMEDIATE` already keeps every other writer out.
 */
export function shareLock(db: Sequelize): string {
	return db.getDialect() === "mysql" ? " LOCK IN SHARE MODE" : "";
}

const packedByDb = new WeakMap<Sequelize, PackedTransactions>();

/**
 * Packed transactions (lib/packed-sql.ts) on a node's shared database: on MySQL a few connections of their own
 * that take many statements in one packet, closed with the database; elsewhere plain Sequelize transactions.
 */
export function packedTransactions(db: Sequelize): PackedTransactions {
	let packed = packedByDb.get(db);
	if (!packed) {
		const entry = [...shared.entries()].find(([, e]) => e.sequelize === db);
		packed = db.getDialect() === "mysql" && entry ? new MysqlPacked(entry[0], 2) : new SequelizePacked(db);
		packedByDb.set(db, packed);
	}
	return packed;
}
