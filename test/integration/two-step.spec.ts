import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { QueryTypes, type Sequelize } from "sequelize";
import { loadConfig } from "../../lib/config";
import { acquireDatabase, releaseDatabase, shareLock, twoStepRunner } from "../../lib/database";
import { isDuplicateKey, MysqlTwoStep, SequelizeTwoStep, type TwoStepRunner } from "../../lib/two-step";
import { defineModels } from "../../models";
import { backend, createMysqlDatabase } from "../support/system";

/**
 * Two-step transactions (lib/two-step.ts) on the suite's backend: on MySQL each step's statements travel in one
 * packet, so what a failing statement leaves behind, escaping, and dates must all be as with Sequelize.
 */
describe(`two-step transactions (${process.env.TEST_BACKEND})`, () => {
	let db: Sequelize;
	let runner: TwoStepRunner;
	let drop: () => Promise<void>;
	const rows = async () => db.query<{ id: number; v: string }>("SELECT id, v FROM two_step_probe ORDER BY id", { type: QueryTypes.SELECT });

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
		runner = twoStepRunner(db);
		await db.query("CREATE TABLE two_step_probe (id INTEGER PRIMARY KEY, v VARCHAR(200) NOT NULL)");
	});

	afterAll(async () => {
		await releaseDatabase(db);
		await drop();
	});

	beforeEach(async () => {
		await db.query("DELETE FROM two_step_probe");
		await db.query("INSERT INTO two_step_probe (id, v) VALUES (1, 'one'), (2, 'two')");
	});

	it("is the multi-statement runner on MySQL and Sequelize's transactions elsewhere", () => {
		expect(runner).toBeInstanceOf(backend() === "cluster" ? MysqlTwoStep : SequelizeTwoStep);
		expect(twoStepRunner(db)).toBe(runner);
	});

	it("gives the decision each read statement's rows in order, then writes, commits and answers", async () => {
		const result = await runner.run<number[], { id: number; v: string }>([
			[`SELECT id, v FROM two_step_probe WHERE id IN (?)${shareLock(db)}`, [[1, 2]]],
			["SELECT id, v FROM two_step_probe WHERE v = ?", ["two"]],
		], ([a, b]) => ({
			writes: [
				["INSERT INTO two_step_probe (id, v) VALUES (?, ?), (?, ?)", [3, `${a.length} rows`, 4, b[0].v]],
				["UPDATE two_step_probe SET v = ? WHERE id = ?", ["uno", 1]],
			],
			result: a.map(r => Number(r.id)),
		}));
		expect(result).toEqual([1, 2]);
		expect(await rows()).toEqual([{ id: 1, v: "uno" }, { id: 2, v: "two" }, { id: 3, v: "2 rows" }, { id: 4, v: "two" }]);
	});

	it("rolls back every statement of a step when one of them fails, and the next transaction starts clean", async () => {
		// the first insert succeeds, the second meets id 1: neither may stay
		const err = await runner.run([["SELECT id FROM two_step_probe WHERE id = ?", [1]]], () => ({
			writes: [
				["INSERT INTO two_step_probe (id, v) VALUES (?, ?)", [5, "five"]],
				["INSERT INTO two_step_probe (id, v) VALUES (?, ?)", [1, "again"]],
			],
			result: null,
		})).then(() => null, (e: unknown) => e);
		expect(isDuplicateKey(err)).toBe(true);
		expect(await rows()).toEqual([{ id: 1, v: "one" }, { id: 2, v: "two" }]);
		// The connection went back without an open transaction: this one commits by itself.
		await runner.run([], () => ({ writes: [["INSERT INTO two_step_probe (id, v) VALUES (?, ?)", [6, "six"]]], result: null }));
		expect((await rows()).map(r => Number(r.id))).toEqual([1, 2, 6]);
	});

	it("rolls back and releases its locks when the decision throws", async () => {
		await expect(runner.run([[`SELECT id FROM two_step_probe WHERE id = ?${shareLock(db)}`, [1]]], () => {
			throw new Error("decided against it");
		})).rejects.toThrow("decided against it");
		// A writer of that row gets through at once: no lock was left behind.
		const started = Date.now();
		await db.query("UPDATE two_step_probe SET v = 'changed' WHERE id = 1");
		expect(Date.now() - started).toBeLessThan(2000);
		expect((await rows())[0].v).toBe("changed");
	});

	it("holds the read's shared lock until it commits: a writer of that row waits for the second step", async () => {
		let writer!: Promise<number>;
		const committed = await runner.run([[`SELECT id FROM two_step_probe WHERE id = ?${shareLock(db)}`, [1]]], () => {
			// Between the steps, another connection tries to change the row that was read.
			writer = db.query("UPDATE two_step_probe SET v = 'after' WHERE id = 1").then(() => Date.now());
			// On MySQL the second step takes a while: without the lock the writer would be through before the commit.
			return { writes: [...(backend() === "cluster" ? [["DO SLEEP(0.3)", []] as [string, unknown[]]] : []), ["INSERT INTO two_step_probe (id, v) VALUES (?, ?)", [8, "eight"]]], result: null };
		}).then(() => Date.now());
		expect(await writer).toBeGreaterThanOrEqual(committed);
		expect((await rows()).map(r => r.v)).toEqual(["after", "two", "eight"]);
	});

	it("commits a decision that writes nothing, and answers it", async () => {
		const read = await runner.run<string[], { v: string }>([["SELECT v FROM two_step_probe WHERE id = ?", [2]]], ([r]) => ({ writes: [], result: r.map(x => x.v) }));
		expect(read).toEqual(["two"]);
		// no transaction was left open on the connection
		await runner.run([], () => ({ writes: [["DELETE FROM two_step_probe WHERE id = ?", [2]]], result: null }));
		expect((await rows()).map(r => Number(r.id))).toEqual([1]);
	});

	it("escapes values: quotes, semicolons and comments stay data, even where statements share a packet", async () => {
		const evil = "x'); DELETE FROM two_step_probe; -- \\' \" ;";
		await runner.run([], () => ({
			writes: [
				["INSERT INTO two_step_probe (id, v) VALUES (?, ?)", [7, evil]],
				["UPDATE two_step_probe SET v = ? WHERE id = ?", [evil, 2]],
			],
			result: null,
		}));
		expect(await rows()).toEqual([{ id: 1, v: "one" }, { id: 2, v: evil }, { id: 7, v: evil }]);
	});

	it("writes dates as Sequelize does, so models read back the same instant", async () => {
		const time = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
		await runner.run([], () => ({
			writes: [["INSERT INTO lottery_participation (lottery_id, user_id, is_won, prize_id, create_time, update_time) VALUES (?, ?, 0, 0, ?, ?)", [99, 98, time, time]]],
			result: null,
		}));
		const row = await defineModels(db).Participation.findOne({ where: { lotteryId: 99, userId: 98 } });
		expect(row?.createTime.toISOString()).toBe(time.toISOString());
		expect(row?.updateTime.toISOString()).toBe(time.toISOString());
	});
});
