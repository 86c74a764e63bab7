/**
 * A small in-process cache with a time to live and a size bound (oldest entry out first). For values a node may
 * serve slightly stale for a few seconds, in front of a shared cache it would otherwise ask on every request.
 */
export class LocalCache<V> {
	private readonly entries = new Map<string, { value: V; until: number }>();

	constructor(private readonly maxEntries: number, private readonly ttlMs: number) {}

	get(key: string, now = Date.now()): V | undefined {
		const entry = this.entries.get(key);
		if (!entry) return undefined;
		if (entry.until <= now) {
			this.entries.delete(key);
			return undefined;
		}
		return entry.value;
	}

	/** Keeps `value` for the cache's TTL, or until `notAfter` (epoch ms) if that is sooner. */
	set(key: string, value: V, notAfter = Infinity, now = Date.now()): void {
		const until = Math.min(now + this.ttlMs, notAfter);
		if (until <= now) return;
		this.entries.delete(key);
		this.entries.set(key, { value, until });
		if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
	}

	delete(key: string): void {
		this.entries.delete(key);
	}

	/** Drops every entry whose key passes `test`. */
	deleteWhere(test: (key: string) => boolean): void {
		for (const key of [...this.entries.keys()]) if (test(key)) this.entries.delete(key);
	}

	clear(): void {
		this.entries.clear();
	}

	get size(): number {
		return this.entries.size;
	}
}
