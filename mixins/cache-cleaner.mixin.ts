import type { Context, ServiceSchema } from "moleculer";
import { TieredCacher } from "../lib/redis";

interface CleanPayload {
	keys?: string[];
	patterns?: string[];
}

async function dropLocal(cacher: import("moleculer").Cacher, service: string, what: CleanPayload): Promise<void> {
	const keys = what.keys ?? [];
	const patterns = what.patterns ?? [];
	if (!keys.length && !patterns.length) {
		await cacher.clean(`${service}.**`);
		return;
	}
	await Promise.all([...keys.map(k => cacher.del(k)), ...patterns.map(p => cacher.clean(p))]);
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
				const cacher = this.broker.cacher;
				if (!cacher) return;
				// A tiered cacher's shared part was cleaned by the sender: only this node's copies are left to drop.
				if (cacher instanceof TieredCacher) cacher.dropLocal(ctx.params.keys ?? [], ctx.params.patterns ?? (ctx.params.keys?.length ? [] : [`${name}.**`]));
				else await dropLocal(cacher, name, ctx.params);
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
				if (cacher) await dropLocal(cacher, service, what);
				// A Redis cacher is one cache for every node: dropping the keys once was enough.
				if (cacher?.constructor.name === "RedisCacher") return;
				await this.broker.broadcast(`cache.clean.${service}`, what);
			},
		},
	};
}
