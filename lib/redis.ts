import { Cachers, Errors, Transporters, Utils, type GenericObject, type LoggerInstance } from "moleculer";
import { LocalCache } from "./local-cache";
import type { RedisOptions } from "ioredis";

/**
 * ioredis options for a `redis://` or `rediss://` URI, with auto-pipelining on: the commands one tick issues
 * (cache reads, writes and drops of many requests) leave in one socket write instead of one write each.
 * For Moleculer's cacher, which hands ioredis an options object rather than a URI.
 */
export function redisOptions(uri: string, extra: RedisOptions = {}): RedisOptions {
	const url = new URL(uri);
	if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new Error(`not a Redis URI: ${url.protocol}`);
	const db = url.pathname.replace(/^\//, "");
	return {
		host: url.hostname || "127.0.0.1",
		port: url.port ? Number(url.port) : 6379,
		...(url.username ? { username: decodeURIComponent(url.username) } : {}),
		...(url.password ? { password: decodeURIComponent(url.password) } : {}),
		...(db ? { db: Number(db) } : {}),
		...(url.protocol === "rediss:" ? { tls: {} } : {}),
		enableAutoPipelining: true,
		...extra,
	};
}

interface PubClient {
	publish(topic: string, data: Buffer): Promise<unknown>;
}

/**
 * Moleculer's Redis transporter with auto-pipelined publishing: the packets one tick sends (responses, requests,
 * events of many calls) leave in one socket write. On this kind of machine a write on loopback costs about as
 * much as handling the request, so the gateway spent a third of its time on them.
 *
 * Two things the stock transporter leaves to chance once publishing is deferred: a failed publish is logged
 * rather than an unhandled rejection, and disconnecting waits for the packets already handed over — the last
 * one is the DISCONNECT that tells the other nodes at once that this node has left.
 */
export class PipelinedRedisTransporter extends Transporters.Redis {
	private readonly sending = new Set<Promise<unknown>>();

	constructor(uri: string) {
		super(redisOptions(uri) as never);
	}

	override send(topic: string, data: Buffer): Promise<void> {
		const client = (this as unknown as { clientPub: PubClient | null }).clientPub;
		if (!client) return Promise.reject(new Errors.MoleculerError("Redis client is not available"));
		const sent: Promise<unknown> = client.publish(topic, data)
			.catch((err: Error) => (this as unknown as { logger: LoggerInstance }).logger.warn(`a packet to ${topic} was not published: ${err.message}`))
			.finally(() => this.sending.delete(sent));
		this.sending.add(sent);
		return Promise.resolve();
	}

	override async disconnect(): Promise<void> {
		await Promise.allSettled([...this.sending]);
		(Transporters.Redis.prototype as unknown as { disconnect(this: unknown): void }).disconnect.call(this);
	}
}

/**
 * The shared Redis cache with a small per-node tier in front: an entry read or written here is kept in this
 * process for a few seconds (serialized, so every reader gets its own copy), which spares the hottest reads a
 * round trip to Redis. Dropping keys drops them here and in Redis; the other nodes drop their own copies when
 * the `cache.clean.<service>` broadcast reaches them (mixins/cache-cleaner.mixin.ts), and in any case after
 * `localTtlMs`. A node may thus answer from its copy for at most that long after a change made elsewhere.
 */
export class TieredCacher extends Cachers.Redis {
	private readonly local: LocalCache<Buffer>;
	declare serializer: { serialize(data: GenericObject): Buffer; deserialize(buf: Buffer): GenericObject };

	constructor(opts: ConstructorParameters<typeof Cachers.Redis>[0], localTtlMs: number, maxEntries = 10_000) {
		super(opts);
		this.local = new LocalCache(maxEntries, localTtlMs);
	}

	override get(key: string): Promise<GenericObject | null> {
		const copy = this.local.get(key);
		if (copy) return Promise.resolve(this.serializer.deserialize(copy));
		return super.get(key).then(value => {
			if (value != null) this.local.set(key, this.serializer.serialize(value));
			return value;
		});
	}

	override set(key: string, data: unknown, ttl?: number): Promise<unknown> {
		const seconds = ttl ?? (this.opts as { ttl?: number }).ttl;
		this.local.set(key, this.serializer.serialize(data as GenericObject), seconds ? Date.now() + seconds * 1000 : Infinity);
		return super.set(key, data, ttl);
	}

	override del(keys: string | string[]): Promise<unknown> {
		this.dropLocal(Array.isArray(keys) ? keys : [keys], []);
		return super.del(keys);
	}

	override clean(match: string | string[] = "**"): Promise<unknown> {
		this.dropLocal([], Array.isArray(match) ? match : [match]);
		return super.clean(match);
	}

	/** This node's copies only: for a drop another node already made in Redis. */
	dropLocal(keys: string[], patterns: string[]): void {
		for (const key of keys) this.local.delete(key);
		if (patterns.length) this.local.deleteWhere(key => patterns.some(p => Utils.match(key, p)));
	}
}
