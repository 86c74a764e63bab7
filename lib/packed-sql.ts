import mysql from "mysql2/promise";
import { QueryTypes, UniqueConstraintError, type Sequelize } from "sequelize";

/** One SQL statement and its values for `?` placeholders (an array becomes a list: `IN (?)`). */
export type Statement = [sql: string, values: unknown[]];

/** What a two-step transaction's decision comes to: the second step's statements, and the caller's answer. */
export interface Decision<R> {
	writes: Statement[];
	result: R;
}

/**
 * Transactions for hot batch writes, in as few exchanges with the database as their logic allows. An error
 * anywhere rolls the whole transaction back and is thrown again.
 */
export interface PackedTransactions {
	/**
	 * One exchange: every statement in order, then the commit. Answers each statement's result: rows for a
	 * SELECT, nothing useful for the others. Conditions a write depends on belong in its own SQL.
	 */
	once<Row = Record<string, unknown>>(statements: Statement[]): Promise<Row[][]>;
	/**
	 * Two exchanges: the reads (locking reads, which begin the transaction), then the writes and the commit. In
	 * between, `decide` turns the rows read into the writes, synchronously, so nothing else happens inside.
	 */
	twoStep<R, Row = Record<string, unknown>>(reads: Statement[], decide: (rows: Row[][]) => Decision<R>): Promise<R>;
	close(): Promise<void>;
}

/** A unique key refused a row, whichever driver said so. */
export function isDuplicateKey(err: unknown): boolean {
	return err instanceof UniqueConstraintError || (err as { code?: string } | null)?.code === "ER_DUP_ENTRY";
}

/**
 * MySQL/MariaDB: each exchange is one packet of statements, on a few connections of their own that accept
 * several statements at once. Through Sequelize a statement is a round trip (and a socket write, which on a
 * small VM costs tens of microseconds), so a batch of joins took six; here it takes one or two. Values are
 * escaped by mysql2 and dates written in UTC, as Sequelize writes them (`timezone: "+00:00"`).
 */
export class MysqlPacked implements PackedTransactions {
	private readonly pool: mysql.Pool;

	constructor(uri: string, connections: number) {
		this.pool = mysql.createPool({
			uri: uri.replace(/^mariadb:/, "mysql:"),
			multipleStatements: true,
			connectionLimit: connections,
			maxIdle: 0,
			idleTimeout: 10_000,
			timezone: "Z",
			charset: "utf8mb4",
			supportBigNumbers: true,
			bigNumberStrings: false,
		});
	}

	async once<Row>(statements: Statement[]): Promise<Row[][]> {
		return this.transaction(async send => (await send(statements, true)) as Row[][]);
	}

	async twoStep<R, Row>(reads: Statement[], decide: (rows: Row[][]) => Decision<R>): Promise<R> {
		return this.transaction(async send => {
			const { writes, result } = decide((await send(reads, false)) as Row[][]);
			await send(writes, true);
			return result;
		});
	}

	/**
	 * Runs `work` on a connection whose first packet begins a transaction; `send(…, true)` commits in the same
	 * packet. A failing statement stops its packet before the commit, so any failure ends with a rollback.
	 */
	private async transaction<R>(work: (send: (statements: Statement[], commit: boolean) => Promise<unknown[]>) => Promise<R>): Promise<R> {
		const conn = await this.pool.getConnection();
		let begun = false;
		let committed = false;
		const send = async (statements: Statement[], commit: boolean): Promise<unknown[]> => {
			const texts = [...(begun ? [] : ["START TRANSACTION"]), ...statements.map(([sql, values]) => conn.format(sql, values)), ...(commit ? ["COMMIT"] : [])];
			const skip = begun ? 0 : 1;
			begun = true;
			const [results] = await conn.query(texts.join(";\n"));
			if (commit) committed = true;
			return (texts.length > 1 ? (results as unknown[]) : [results]).slice(skip, skip + statements.length);
		};
		try {
			const result = await work(send);
			if (begun && !committed) throw new Error("packed transaction: the work ended without a commit");
			conn.release();
			return result;
		} catch (err) {
			if (begun && !committed) {
				try {
					await conn.query("ROLLBACK");
				} catch {
					conn.destroy();
					throw err;
				}
			}
			conn.release();
			throw err;
		}
	}

	async close(): Promise<void> {
		await this.pool.end();
	}
}

/** Any other dialect (SQLite): the same transactions, one statement at a time in a Sequelize transaction. */
export class SequelizePacked implements PackedTransactions {
	constructor(private readonly db: Sequelize) {}

	once<Row>(statements: Statement[]): Promise<Row[][]> {
		return this.db.transaction(async t => {
			const results: Row[][] = [];
			for (const [sql, replacements] of statements) {
				const select = /^\s*SELECT\b/i.test(sql);
				results.push(await this.db.query(sql, { replacements, transaction: t, ...(select ? { type: QueryTypes.SELECT } : {}) }) as Row[]);
			}
			return results;
		});
	}

	twoStep<R, Row>(reads: Statement[], decide: (rows: Row[][]) => Decision<R>): Promise<R> {
		return this.db.transaction(async t => {
			const rows: Row[][] = [];
			for (const [sql, replacements] of reads) rows.push(await this.db.query(sql, { replacements, type: QueryTypes.SELECT, transaction: t }) as Row[]);
			const { writes, result } = decide(rows);
			for (const [sql, replacements] of writes) await this.db.query(sql, { replacements, transaction: t });
			return result;
		});
	}

	async close(): Promise<void> {
		// The Sequelize instance is shared and closed by its owner.
	}
}
