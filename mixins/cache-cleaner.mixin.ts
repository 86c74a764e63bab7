import type { Context, ServiceSchema } from "moleculer";
import { TieredCacher } from "../lib/redis";

interface CleanPayload {
	keys?: string[];
	patterns?: string[];
}

/**
 * Drops the named keys and patterns (all of `service`'s keys when none are named) from this node's cacher. For a
 * broadcast that reaches a tiered cacher, the sender already cleaned the shared Redis part: only this node's
 * copies are left to drop.
 */
async function drop(cacher: import("moleculer").Cacher, service: string, what: CleanPayload, fromBroadcast: boolean): Promise<void> {
	const keys = what.keys ?? [];
	const patterns = keys.length || what.patterns?.length ? what.patterns ?? [] : [`${service}.**`];
	if (fromBroadcast && cacher instanceof TieredCacher) {
		cacher.dropLocal(keys, patterns);
		return;
	}
	await Promise.all([...(keys.length ? [cacher.del(keys)] : []), ...patterns.map(p => cacher.clean(p))]);
}

/**
 * Cache cleaning that reaches every node: a change broadcasts `cache.clean.<service>`, and each node drops
 * the named keys (or all of the service's keys) from its own cacher. With a plain Redis cacher there is one
 * cache and no broadcast; with per-node memory caches, or the per-node tier of lib/redis.ts' TieredCacher,
 * the broadcast is what keeps them true.
 */
export function CacheCleanerMixin(serviceNames: string[]): Partial<ServiceSchema> {
	const events: ServiceSchema["events"] = {};
	for (const name of serviceNames) {
		events[`cache.clean.${name}`] = {
			params: {
				keys: { type: "array", items: "string", optional: true },
				patterns: { type: "array", items: "string", optional: true },
			},
			async handler(this: { broker: import("moleculer").ServiceBroker }, ctx: Context<CleanPayload>) {
				if (this.broker.cacher) await drop(this.broker.cacher, name, ctx.params, true);
			},
		};
	}
	return {
		events,
		methods: {
			/**
			 * Drops cache keys (e.g. `users.get:7`) and key patterns (e.g. `lottery.list*`) on every node, or all of
			 * `service`'s keys when none are named.
			 */
			async cleanCache(this: { broker: import("moleculer").ServiceBroker }, service: string, keys: string[] = [], patterns: string[] = []) {
				const what: CleanPayload = { ...(keys.length ? { keys } : {}), ...(patterns.length ? { patterns } : {}) };
				// Locally first, so the caller's next read is already fresh; then everywhere else.
				const cacher = this.broker.cacher;
				if (cacher) await drop(cacher, service, what, false);
				// A Redis cacher is one cache for every node: dropping the keys once was enough.
				if (cacher?.constructor.name === "RedisCacher") return;
				await this.broker.broadcast(`cache.clean.${service}`, what);
			},
		},
	};
}
