import type { Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../lib/config";
import { createKafka, KafkaSink } from "../lib/kafka";
import { setMetric } from "../lib/metrics";
import { OutboxRelay, type EventSink, type OutboxRow } from "../lib/outbox";
import { DbMixin, type DbServiceThis } from "../mixins/db.mixin";

interface OutboxThis extends Service, DbServiceThis {
	relay: OutboxRelay;
	sink: EventSink & { close?(): Promise<void> };
	timer: NodeJS.Timeout | null;
	running: Promise<void> | null;
	failures: number;
	pauseUntil: number;
	relayNow(): Promise<void>;
}

/**
 * The outbox relay: publishes the domain events that services wrote in their transactions — to Kafka when
 * KAFKA_BROKERS is set, as Moleculer events named `domain.<type>` otherwise — in order, at least once.
 */
export function createOutboxService(config: Config): ServiceSchema<ServiceSettingSchema, OutboxThis> {
	return {
		name: "outbox",
		mixins: [DbMixin(config, "Lottery")],

		actions: {
			/** Pending and failing events, for operators. */
			status: {
				visibility: "public",
				async handler(this: OutboxThis) {
					return { ...(await this.relay.status()), sink: config.kafkaBrokers ? "kafka" : "moleculer" };
				},
			},
			/** Publishes what is pending now (the timer does it every OUTBOX_POLL_MS). */
			flush: {
				visibility: "public",
				async handler(this: OutboxThis) {
					this.pauseUntil = 0;
					await this.relayNow();
					return this.relay.status();
				},
			},
		},

		methods: {
			async relayNow(this: OutboxThis): Promise<void> {
				if (this.running) return this.running;
				if (Date.now() < this.pauseUntil) return;
				this.running = (async () => {
					try {
						await this.relay.relayOnce();
						this.failures = 0;
					} catch (err) {
						// Kafka down or slow: back off (up to 10 s) and keep the events; nothing is lost.
						this.failures++;
						this.pauseUntil = Date.now() + Math.min(10_000, 200 * 2 ** Math.min(this.failures, 6));
						if (this.failures === 1 || this.failures % 20 === 0) this.logger.warn({ err: (err as Error).message, failures: this.failures }, "outbox relay could not publish; retrying");
					} finally {
						// the backlog gauge matters most while Kafka is away
						if (this.broker.isMetricsEnabled()) await this.relay.status().then(s => setMetric(this.broker, "outboxPending", s.pending), () => undefined);
						this.running = null;
					}
				})();
				return this.running;
			},
		},

		created(this: OutboxThis) {
			this.timer = null;
			this.running = null;
			this.failures = 0;
			this.pauseUntil = 0;
		},

		async started(this: OutboxThis) {
			if (config.kafkaBrokers) {
				this.sink = new KafkaSink(createKafka({ brokers: config.kafkaBrokers, clientId: `${config.namespace || "lottery"}-outbox`, topic: config.kafkaTopic }), config.kafkaTopic);
			} else {
				const broker = this.broker;
				this.sink = {
					async publish(rows: OutboxRow[]) {
						for (const r of rows) await broker.emit(`domain.${r.type}`, JSON.parse(r.payload));
					},
				};
			}
			this.relay = new OutboxRelay(this.adapter.db, this.sink, `${config.namespace || "lottery"}:outbox-relay`);
			this.timer = setInterval(() => void this.relayNow(), config.outboxPollMs);
		},

		async stopped(this: OutboxThis) {
			if (this.timer) clearInterval(this.timer);
			await this.running;
			await this.relay?.close();
			await this.sink?.close?.();
		},
	};
}
