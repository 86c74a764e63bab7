import crypto from "node:crypto";
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import type { Statement } from "./packed-sql";

/**
 * Domain events through a transactional outbox: a state change and the event row that announces it are
 * written in the same transaction, so an event exists exactly when its change committed. A relay
 * (OutboxRelay, run by the outbox service) publishes the rows in order and marks them sent once delivered.
 */

export const EVENT_VERSION = 1;

/** Every domain event, as consumers receive it (JSON; documented in doc/events.md). */
export interface DomainEvent<T = Record<string, unknown>> {
	eventId: string;
	type: DomainEventType;
	version: number;
	/** ISO-8601 */
	time: string;
	aggregateType: "user" | "lottery";
	aggregateId: string;
	data: T;
}

export type DomainEventType =
	| "user.registered"
	| "lottery.created"
	| "lottery.published"
	| "lottery.cancelled"
	| "participation.created"
	| "lottery.drawn"
	| "prize.won"
	| "prize.claimed"
	| "prize.delivered";

/** Writes one event into the outbox within the caller's transaction. */
export async function recordEvent<T extends Record<string, unknown>>(
	db: Sequelize,
	t: Transaction,
	type: DomainEventType,
	aggregate: { type: DomainEvent["aggregateType"]; id: number | string },
	data: T,
): Promise<DomainEvent<T>> {
	const event: DomainEvent<T> = {
		eventId: crypto.randomUUID(),
		type,
		version: EVENT_VERSION,
		time: new Date().toISOString(),
		aggregateType: aggregate.type,
		aggregateId: String(aggregate.id),
		data,
	};
	await db.query(
		"INSERT INTO outbox (event_id, type, aggregate_type, aggregate_id, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		{ replacements: [event.eventId, type, aggregate.type, event.aggregateId, JSON.stringify(event), Date.now()], type: QueryTypes.INSERT, transaction: t },
	);
	return event;
}

type NewEvent = { type: DomainEventType; aggregate: { type: DomainEvent["aggregateType"]; id: number | string }; data: Record<string, unknown> };

const OUTBOX_COLUMNS = "event_id, type, aggregate_type, aggregate_id, payload, created_at";

/** An outbox row's values, in OUTBOX_COLUMNS' order. */
function outboxValues(e: NewEvent): unknown[] {
	const event: DomainEvent = {
		eventId: crypto.randomUUID(), type: e.type, version: EVENT_VERSION, time: new Date().toISOString(),
		aggregateType: e.aggregate.type, aggregateId: String(e.aggregate.id), data: e.data,
	};
	return [event.eventId, event.type, event.aggregateType, event.aggregateId, JSON.stringify(event), Date.now()];
}

/** The INSERTs that write `events` into the outbox, up to 500 rows a statement (for a transaction of the caller's). */
function outboxInserts(events: NewEvent[]): Statement[] {
	const statements: Statement[] = [];
	for (let i = 0; i < events.length; i += 500) {
		const chunk = events.slice(i, i + 500);
		statements.push([`INSERT INTO outbox (${OUTBOX_COLUMNS}) VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?)").join(", ")}`, chunk.flatMap(outboxValues)]);
	}
	return statements;
}

/**
 * Like outboxInserts, for writes whose condition is checked in SQL as they run: event i is written only if the
 * row of `gate.table` whose id is `gate.ids[i]` (alias `g`) passes `gate.where` at that moment.
 */
export function outboxInsertsWhere(events: NewEvent[], gate: { table: string; ids: number[]; where: string; values: unknown[] }): Statement[] {
	const statements: Statement[] = [];
	for (let i = 0; i < events.length; i += 500) {
		const rows = events.slice(i, i + 500).map((e, j) => [...outboxValues(e), gate.ids[i + j]]);
		const first = "SELECT ? AS event_id, ? AS type, ? AS aggregate_type, ? AS aggregate_id, ? AS payload, ? AS created_at, ? AS gate_id";
		const union = rows.map((_, j) => (j ? "SELECT ?, ?, ?, ?, ?, ?, ?" : first)).join(" UNION ALL ");
		statements.push([
			`INSERT INTO outbox (${OUTBOX_COLUMNS}) SELECT v.event_id, v.type, v.aggregate_type, v.aggregate_id, v.payload, v.created_at FROM (${union}) v JOIN ${gate.table} g ON g.id = v.gate_id WHERE ${gate.where}`,
			[...rows.flat(), ...gate.values],
		]);
	}
	return statements;
}

/** Several events of one change, in one statement. */
export async function recordEvents(db: Sequelize, t: Transaction, events: NewEvent[]): Promise<void> {
	for (const [sql, replacements] of outboxInserts(events)) await db.query(sql, { replacements, type: QueryTypes.INSERT, transaction: t });
}

export interface OutboxRow {
	id: number;
	eventId: string;
	type: string;
	aggregateType: string;
	aggregateId: string;
	payload: string;
}

/** Where the relay sends events: Kafka in a cluster, Moleculer events in the embedded default. */
export interface EventSink {
	/** Resolves once every event is acknowledged; rejects if any was not. */
	publish(rows: OutboxRow[]): Promise<void>;
}

/**
 * Publishes pending outbox rows in id order. With several relay nodes, one at a time is the publisher: on
 * MySQL it holds a named lock on a connection of its own (released if the node dies), so each key's events
 * go out in order. A batch that fails is retried whole next time: delivery is at least once, consumers
 * deduplicate by eventId.
 */
export class OutboxRelay {
	private lockConn: { promise(): { query(sql: string, args: unknown[]): Promise<[Array<Record<string, unknown>>]> } } | null = null;
	private leading = false;

	constructor(private readonly db: Sequelize, private readonly sink: EventSink, private readonly lockName: string, private readonly batchSize = 500) {}

	/** True when this node may publish now. */
	private async lead(): Promise<boolean> {
		if (this.db.getDialect() !== "mysql") return true; // SQLite: one process
		const cm = this.db.connectionManager as unknown as { getConnection(o: object): Promise<NonNullable<OutboxRelay["lockConn"]>>; releaseConnection(c: unknown): Promise<void> };
		if (!this.lockConn) this.lockConn = await cm.getConnection({ type: "write" });
		try {
			// Leading: check the lock is still ours (the connection may have been cut). Not leading: try to take it.
			const [rows] = this.leading
				? await this.lockConn.promise().query("SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS got", [this.lockName])
				: await this.lockConn.promise().query("SELECT GET_LOCK(?, 0) AS got", [this.lockName]);
			this.leading = Number(rows[0]?.got) === 1;
			return this.leading;
		} catch (err) {
			const conn = this.lockConn;
			this.lockConn = null;
			this.leading = false;
			await cm.releaseConnection(conn).catch(() => undefined);
			throw err;
		}
	}

	/** Publishes what is pending; returns how many rows were sent. */
	async relayOnce(): Promise<number> {
		if (!(await this.lead())) return 0;
		let sent = 0;
		for (;;) {
			const rows = await this.db.query<{ id: number; event_id: string; type: string; aggregate_type: string; aggregate_id: string; payload: string }>(
				"SELECT id, event_id, type, aggregate_type, aggregate_id, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT ?",
				{ replacements: [this.batchSize], type: QueryTypes.SELECT },
			);
			if (!rows.length) return sent;
			const batch = rows.map(r => ({ id: Number(r.id), eventId: r.event_id, type: r.type, aggregateType: r.aggregate_type, aggregateId: r.aggregate_id, payload: r.payload }));
			try {
				await this.sink.publish(batch);
			} catch (err) {
				await this.db.query(
					`UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id IN (${batch.map(() => "?").join(",")})`,
					{ replacements: [String((err as Error).message).slice(0, 255), ...batch.map(r => r.id)] },
				).catch(() => undefined);
				throw err;
			}
			await this.db.query(`UPDATE outbox SET published_at = ?, last_error = NULL WHERE id IN (${batch.map(() => "?").join(",")})`, { replacements: [Date.now(), ...batch.map(r => r.id)] });
			sent += batch.length;
			if (rows.length < this.batchSize) return sent;
		}
	}

	/** Pending and failing rows, for operators. */
	async status(): Promise<{ pending: number; failing: number; oldestPendingMs: number }> {
		const [row] = await this.db.query<{ pending: number; failing: number; oldest: number | null }>(
			"SELECT COUNT(*) AS pending, SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS failing, MIN(created_at) AS oldest FROM outbox WHERE published_at IS NULL",
			{ type: QueryTypes.SELECT },
		);
		return { pending: Number(row.pending), failing: Number(row.failing ?? 0), oldestPendingMs: row.oldest ? Date.now() - Number(row.oldest) : 0 };
	}

	async close(): Promise<void> {
		if (!this.lockConn) return;
		const cm = this.db.connectionManager as unknown as { releaseConnection(c: unknown): Promise<void> };
		if (this.leading) await this.lockConn.promise().query("SELECT RELEASE_LOCK(?)", [this.lockName]).catch(() => undefined);
		this.leading = false;
		await cm.releaseConnection(this.lockConn).catch(() => undefined);
		this.lockConn = null;
	}
}
