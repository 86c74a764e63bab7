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
