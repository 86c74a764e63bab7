import type { Context, ServiceSchema } from "moleculer";

interface CleanPayload {
	keys?: string[];
}

/**
 * Cache cleaning that reaches every node: a change broadcasts `cache.clean.<service>`, and each node drops
 * the named keys (or all of the service's keys) from its own cacher. With the shared Redis cacher the
 * broadcast is redundant but harmless; with per-node memory caches it is what keeps them true.
 */
export function CacheCleanerMixin(serviceNames: string[]): Partial<ServiceSchema> {
	const events: ServiceSchema["events"] = {};
	for (const name of serviceNames) {
		events[`cache.clean.${name}`] = {
			params: { keys: { type: "array", items: "string", optional: true } },
			async handler(this: { broker: import("moleculer").ServiceBroker }, ctx: Context<CleanPayload>) {
				const cacher = this.broker.cacher;
				if (!cacher) return;
				if (ctx.params.keys?.length) await Promise.all(ctx.params.keys.map(k => cacher.del(k)));
				else await cacher.clean(`${name}.**`);
			},
		};
	}
	return {
		events,
		methods: {
			/** Drops cache keys (e.g. `users.get:7`) on every node, or all of `service`'s keys when none are named. */
			async cleanCache(this: { broker: import("moleculer").ServiceBroker }, service: string, keys?: string[]) {
				const cacher = this.broker.cacher;
				// Locally first, so the caller's next read is already fresh; then everywhere else.
				if (cacher) {
					if (keys?.length) await Promise.all(keys.map(k => cacher.del(k)));
					else await cacher.clean(`${service}.**`);
				}
				await this.broker.broadcast(`cache.clean.${service}`, keys?.length ? { keys } : {});
			},
		},
	};
}
