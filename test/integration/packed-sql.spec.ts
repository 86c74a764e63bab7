import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { QueryTypes, type Sequelize } from "sequelize";
import { loadConfig } from "../../lib/config";
import { acquireDatabase, packedTransactions, releaseDatabase, shareLock } from "../../lib/database";
import { isDuplicateKey, MysqlPacked, SequelizePacked, type PackedTransactions } from "../../lib/packed-sql";
import { defineModels } from "../../models";
import { backend, createMysqlDatabase } from "../support/system";

/**
 * Packed transactions (lib/packed-sql.ts) on the suite's backend: on MySQL each step's statements travel in one
 * packet, so what a failing statement leaves behind, escaping, and dates must all be as with Sequelize.
 */
describe(`packed transactions (${process.env.TEST_BACKEND})`, () => {
	let db: Sequelize;
	let packed: PackedTransactions;
	let drop: () => Promise<void>;
	const rows = async () => db.query<{ id: number; v: string }>("SELECT id, v FROM packed_probe ORDER BY id", { type: QueryTypes.SELECT });

	beforeAll(async () => {
		if (backend() === "cluster") {
			const target = await createMysqlDatabase("lt_twostep");
			db = await acquireDatabase(loadConfig({ DB_URI: target.uri }));
			drop = target.drop;
		} else {
			const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lottery-twostep-"));
			db = await acquireDatabase(loadConfig({ DATA_DIR: dir }));
			drop = async () => fs.rmSync(dir, { recursive: true, force: true });
		}
		packed = packedTransactions(db);
		await db.query("CREATE TABLE packed_probe (id INTEGER PRIMARY KEY, v VARCHAR(200) NOT NULL)");
	});

	afterAll(async () => {
		await releaseDatabase(db);
		await drop();
	});

	beforeEach(async () => {
		await db.query("DELETE FROM packed_probe");
		await db.query("INSERT INTO packed_probe (id, v) VALUES (1, 'one'), (2, 'two')");
	});

	it("is the multi-statement runner on MySQL and Sequelize's transactions elsewhere", () => {
		expect(packed).toBeInstanceOf(backend() === "cluster" ? MysqlPacked : SequelizePacked);
		expect(packedTransactions(db)).toBe(packed);
	});

	it("runs a packet of statements in one transaction and answers each SELECT's rows in order", async () => {
		const [before, , after] = await packed.once<{ id: number; v: string }>([
			[`SELECT id, v FROM packed_probe WHERE id = ?${shareLock(db)}`, [1]],
			["INSERT INTO packed_probe (id, v) SELECT id + 10, v FROM packed_probe WHERE id IN (?)", [[1, 2]]],
			["SELECT id, v FROM packed_probe WHERE id > ? ORDER BY id", [10]],
		]);
		expect(before).toEqual([{ id: 1, v: "one" }]);
		expect(after.map(r => Number(r.id))).toEqual([11, 12]);
	});

	it("takes back a whole packet when one statement fails", async () => {
		const err = await packed.once([
			["UPDATE packed_probe SET v = ? WHERE id = ?", ["changed", 2]],
			["INSERT INTO packed_probe (id, v) VALUES (?, ?)", [3, "three"]],
			["INSERT INTO packed_probe (id, v) VALUES (?, ?)", [1, "again"]],
		]).then(() => null, (e: unknown) => e);
		expect(isDuplicateKey(err)).toBe(true);
		expect(await rows()).toEqual([{ id: 1, v: "one" }, { id: 2, v: "two" }]);
	});

	it("gives the decision each read statement's rows in order, then writes, commits and answers", async () => {
		const result = await packed.twoStep<number[], { id: number; v: string }>([
			[`SELECT id, v FROM packed_probe WHERE id IN (?)${shareLock(db)}`, [[1, 2]]],
			["SELECT id, v FROM packed_probe WHERE v = ?", ["two"]],
		], ([a, b]) => ({
			writes: [
				["INSERT INTO packed_probe (id, v) VALUES (?, ?), (?, ?)", [3, `${a.length} rows`, 4, b[0].v]],
				["UPDATE packed_probe SET v = ? WHERE id = ?", ["uno", 1]],
			],
			result: a.map(r => Number(r.id)),
		}));
		expect(result).toEqual([1, 2]);
		expect(await rows()).toEqual([{ id: 1, v: "uno" }, { id: 2, v: "two" }, { id: 3, v: "2 rows" }, { id: 4, v: "two" }]);
	});

	it("rolls back every statement of a step when one of them fails, and the next transaction starts clean", async () => {
		// the first insert succeeds, the second meets id 1: neither may stay
		const err = await packed.twoStep([["SELECT id FROM packed_probe WHERE id = ?", [1]]], () => ({
			writes: [
				["INSERT INTO packed_probe (id, v) VALUES (?, ?)", [5, "five"]],
				["INSERT INTO packed_probe (id, v) VALUES (?, ?)", [1, "again"]],
			],
			result: null,
		})).then(() => null, (e: unknown) => e);
		expect(isDuplicateKey(err)).toBe(true);
		expect(await rows()).toEqual([{ id: 1, v: "one" }, { id: 2, v: "two" }]);
		// The connection went back without an open transaction: this one commits by itself.
		await packed.once([["INSERT INTO packed_probe (id, v) VALUES (?, ?)", [6, "six"]]]);
		expect((await rows()).map(r => Number(r.id))).toEqual([1, 2, 6]);
	});

	it("rolls back and releases its locks when the decision throws", async () => {
		await expect(packed.twoStep([[`SELECT id FROM packed_probe WHERE id = ?${shareLock(db)}`, [1]]], () => {
			throw new Error("decided against it");
		})).rejects.toThrow("decided against it");
		// A writer of that row gets through at once: no lock was left behind.
		const started = Date.now();
		await db.query("UPDATE packed_probe SET v = 'changed' WHERE id = 1");
		expect(Date.now() - started).toBeLessThan(2000);
		expect((await rows())[0].v).toBe("changed");
	});

	it("holds the read's shared lock until it commits: a writer of that row waits for the second step", async () => {
		let writer!: Promise<number>;
		const committed = await packed.twoStep([[`SELECT id FROM packed_probe WHERE id = ?${shareLock(db)}`, [1]]], () => {
			// Between the steps, another connection tries to change the row that was read.
			writer = db.query("UPDATE packed_probe SET v = 'after' WHERE id = 1").then(() => Date.now());
			// On MySQL the second step takes a while: without the lock the writer would be through before the commit.
			return { writes: [...(backend() === "cluster" ? [["DO SLEEP(0.3)", []] as [string, unknown[]]] : []), ["INSERT INTO packed_probe (id, v) VALUES (?, ?)", [8, "eight"]]], result: null };
		}).then(() => Date.now());
		expect(await writer).toBeGreaterThanOrEqual(committed);
		expect((await rows()).map(r => r.v)).toEqual(["after", "two", "eight"]);
	});

	it("commits a decision that writes nothing, and answers it", async () => {
		const read = await packed.twoStep<string[], { v: string }>([["SELECT v FROM packed_probe WHERE id = ?", [2]]], ([r]) => ({ writes: [], result: r.map(x => x.v) }));
		expect(read).toEqual(["two"]);
		// no transaction was left open on the connection
		await packed.once([["DELETE FROM packed_probe WHERE id = ?", [2]]]);
		expect((await rows()).map(r => Number(r.id))).toEqual([1]);
	});

	it("escapes values: quotes, semicolons and comments stay data, even where statements share a packet", async () => {
		const evil = "x'); DELETE FROM packed_probe; -- \\' \" ;";
		await packed.once([
			["INSERT INTO packed_probe (id, v) VALUES (?, ?)", [7, evil]],
			["UPDATE packed_probe SET v = ? WHERE id = ?", [evil, 2]],
		]);
		expect(await rows()).toEqual([{ id: 1, v: "one" }, { id: 2, v: evil }, { id: 7, v: evil }]);
	});

	it("writes dates as Sequelize does, so models read back the same instant", async () => {
		const time = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
		await packed.once([["INSERT INTO lottery_participation (lottery_id, user_id, is_won, prize_id, create_time, update_time) VALUES (?, ?, 0, 0, ?, ?)", [99, 98, time, time]]]);
		const row = await defineModels(db).Participation.findOne({ where: { lotteryId: 99, userId: 98 } });
		expect(row?.createTime.toISOString()).toBe(time.toISOString());
		expect(row?.updateTime.toISOString()).toBe(time.toISOString());
	});
});
