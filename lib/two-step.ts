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
 * A transaction of two exchanges with the database: the reads (locking reads, which begin it), then the writes
 * and the commit. In between, `decide` turns the rows read into the writes, synchronously, so nothing else can
 * happen inside the transaction. An error anywhere, `decide`'s included, rolls everything back.
 */
export interface TwoStepRunner {
	run<R, Row = Record<string, unknown>>(reads: Statement[], decide: (rows: Row[][]) => Decision<R>): Promise<R>;
	close(): Promise<void>;
}

/** A unique key refused a row, whichever driver said so. */
export function isDuplicateKey(err: unknown): boolean {
	return err instanceof UniqueConstraintError || (err as { code?: string } | null)?.code === "ER_DUP_ENTRY";
}

/**
 * MySQL/MariaDB: the statements of each step go to the server in one packet, on connections of their own that
 * accept several statements at once. A whole batch transaction is then two round trips — where one statement
 * per round trip through Sequelize took six, and on a machine where every socket write costs tens of
 * microseconds that was half of a join's CPU. Values are escaped by mysql2, dates written in UTC as Sequelize
 * writes them (`timezone: "+00:00"`).
 */
export class MysqlTwoStep implements TwoStepRunner {
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

	async run<R, Row = Record<string, unknown>>(reads: Statement[], decide: (rows: Row[][]) => Decision<R>): Promise<R> {
		const conn = await this.pool.getConnection();
		// One packet per step; each statement's result comes back in order after START TRANSACTION's.
		const send = async (statements: string[]): Promise<unknown[]> => {
			const [results] = await conn.query(statements.join(";\n"));
			return (statements.length > 1 ? results : [results]) as unknown[];
		};
		const format = (statements: Statement[]) => statements.map(([sql, values]) => conn.format(sql, values));
		let open = false;
		try {
			open = true;
			const results = await send(["START TRANSACTION", ...format(reads)]);
			const { writes, result } = decide(results.slice(1) as Row[][]);
			await send([...format(writes), "COMMIT"]);
			open = false;
			conn.release();
			return result;
		} catch (err) {
			// A failing statement stops its packet before COMMIT: the transaction is still open.
			if (open) {
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

/** Any other dialect (SQLite): the same two steps, one statement at a time in a Sequelize transaction. */
export class SequelizeTwoStep implements TwoStepRunner {
	constructor(private readonly db: Sequelize) {}

	run<R, Row = Record<string, unknown>>(reads: Statement[], decide: (rows: Row[][]) => Decision<R>): Promise<R> {
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
