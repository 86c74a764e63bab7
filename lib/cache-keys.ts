import type { Cacher, Context } from "moleculer";

/**
 * Cached answers that one service caches and others must drop when they change what the answer shows. The
 * keys are Moleculer's (`<action>:<key params>`); the services' cache settings are where they come from.
 */

/** Every cached answer that shows lottery `id` as a whole: whoever changes the lottery drops them all. */
export function lotteryCacheKeys(id: number): string[] {
	return [`lottery.get:${id}`, `lottery.lotteryDetail:${id}`];
}

/** The patterns of cached answers that show a sponsor: whoever changes a sponsor drops them. */
export const SPONSOR_VIEWS = ["lottery.lotteryDetail:*"];

/** The key parameters of cached actions that other code reads through (readThrough below), defined once. */
export const CACHE_KEYS = {
	"lottery.get": ["id"],
	"users.get": ["id"],
	"lottery.userCounts": ["userId"],
} as const;

/**
 * A cached action's answer straight from the cacher when it is there, the call otherwise. Same key, same entry
 * and same invalidation as the call; what it saves is the call itself (a context and the middleware chain),
 * most of a cached read's cost when one answer is made of several cached parts.
 */
export async function readThrough<R>(ctx: Context<unknown, object>, action: keyof typeof CACHE_KEYS, params: Record<string, unknown>): Promise<R> {
	const cacher = ctx.broker.cacher as (Cacher & { connected?: boolean | null }) | undefined;
	if (cacher && cacher.connected !== false && (ctx.meta as { $cache?: boolean }).$cache !== false) {
		const hit = await cacher.get(cacher.getCacheKey(action, params, ctx.meta, [...CACHE_KEYS[action]])).catch(() => null);
		if (hit != null) return hit as R;
	}
	return ctx.call<R, Record<string, unknown>>(action, params);
}
