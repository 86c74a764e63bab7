/** What one item of a batch came to: its value, or the error its caller gets. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface BatcherOptions {
	/** Most items in one write. */
	maxBatch: number;
	/** Most batches in flight at once (each holds a pooled connection). */
	parallel: number;
}

interface Waiting<I, R> {
	item: I;
	resolve(value: R): void;
	reject(error: unknown): void;
}

/**
 * Callers submit one item each and wait for its outcome; whatever queued up while earlier batches were in flight
 * goes to the next `run` together. For writes that is group commit (one transaction, a handful of round trips
 * for the lot); for reads, one `WHERE id IN (…)` instead of a query per caller. Nothing waits for a timer: when
 * idle, a batch leaves on the next turn of the event loop, so a lone request goes at once, and under load
 * batches grow by themselves.
 *
 * `run` answers with one outcome per item, in order; if it throws, every item of the batch gets the error.
 * A caller's promise settles only after the batch that carried its item is done (for writes: committed).
 */
export class Batcher<I, R> {
	private queue: Array<Waiting<I, R>> = [];
	/** Batches run and items carried so far: items / batches is the average batch. */
	batches = 0;
	items = 0;
	private inFlight = 0;
	private scheduled = false;

	constructor(
		private readonly work: (items: I[]) => Promise<Array<Outcome<R>>>,
		private readonly options: BatcherOptions,
	) {
		if (options.maxBatch < 1 || options.parallel < 1) throw new Error("maxBatch and parallel must be at least 1");
	}

	/** Items waiting for a batch. */
	get pending(): number {
		return this.queue.length;
	}

	submit(item: I): Promise<R> {
		return new Promise<R>((resolve, reject) => {
			this.queue.push({ item, resolve, reject });
			this.schedule();
		});
	}

	private schedule(): void {
		if (this.scheduled || this.inFlight >= this.options.parallel || !this.queue.length) return;
		this.scheduled = true;
		// Let the requests that arrived in this turn of the event loop join the batch.
		setImmediate(() => {
			this.scheduled = false;
			this.flush();
		});
	}

	private flush(): void {
		while (this.inFlight < this.options.parallel && this.queue.length) {
			const batch = this.queue.splice(0, this.options.maxBatch);
			this.inFlight++;
			this.batches++;
			this.items += batch.length;
			this.run(batch).finally(() => {
				this.inFlight--;
				this.schedule();
			});
		}
	}

	private async run(batch: Array<Waiting<I, R>>): Promise<void> {
		let outcomes: Array<Outcome<R>>;
		try {
			outcomes = await this.work(batch.map(w => w.item));
		} catch (err) {
			for (const w of batch) w.reject(err);
			return;
		}
		batch.forEach((w, i) => {
			const outcome = outcomes[i];
			if (!outcome) w.reject(new Error("batcher: the batch gave no outcome for this item"));
			else if (outcome.ok) w.resolve(outcome.value);
			else w.reject(outcome.error);
		});
	}
}

/** A promise's outcome, never rejecting. */
export async function settle<R>(promise: Promise<R>): Promise<Outcome<R>> {
	try {
		return { ok: true, value: await promise };
	} catch (error) {
		return { ok: false, error };
	}
}
