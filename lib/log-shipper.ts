import { Writable } from "node:stream";
import { logLevel, type Producer } from "kafkajs";
import { createKafka } from "./kafka";

export interface LogShipperStats {
	shipped: number;
	dropped: number;
	buffered: number;
	failures: number;
}

/**
 * Ships log lines to Kafka (LOG_KAFKA_BROKERS) for hosts without Filebeat. Writing never waits for Kafka: lines
 * go into a bounded buffer that a timer sends in batches; when Kafka is slow or down the buffer fills and
 * further lines are dropped and counted (stats(), and a warning on stderr), never a crash and never a
 * slower request. Lines still buffered at close get one last try.
 */
export class KafkaLogShipper extends Writable {
	private readonly buffer: string[] = [];
	private producer: Producer | null = null;
	private sending: Promise<void> | null = null;
	private readonly timer: NodeJS.Timeout;
	private readonly counters = { shipped: 0, dropped: 0, failures: 0 };
	private droppedReported = 0;
	private pauseUntil = 0;

	constructor(private readonly brokers: string[], private readonly topic: string, private readonly capacity = 10_000, private readonly clientId = "lottery-logs") {
		super({ decodeStrings: false });
		this.timer = setInterval(() => void this.flush(), 200);
		this.timer.unref();
	}

	override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
		for (const line of chunk.toString().split("\n")) {
			if (!line) continue;
			if (this.buffer.length >= this.capacity) this.counters.dropped++;
			else this.buffer.push(line);
		}
		done();
	}

	stats(): LogShipperStats {
		return { ...this.counters, buffered: this.buffer.length };
	}

	/** Sends what is buffered, in batches; on failure keeps it and waits a little before the next try. */
	async flush(): Promise<void> {
		if (this.sending) return this.sending;
		if (!this.buffer.length || Date.now() < this.pauseUntil) return;
		this.sending = (async () => {
			try {
				if (!this.producer) {
					const kafka = createKafka({ brokers: this.brokers, clientId: this.clientId, topic: this.topic });
					const producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 1, initialRetryTime: 100 } });
					await producer.connect();
					this.producer = producer;
				}
				while (this.buffer.length) {
					const batch = this.buffer.slice(0, 500);
					await this.producer.send({ topic: this.topic, acks: 1, messages: batch.map(value => ({ value })) });
					this.buffer.splice(0, batch.length);
					this.counters.shipped += batch.length;
				}
			} catch {
				this.counters.failures++;
				this.pauseUntil = Date.now() + 1000;
				const p = this.producer;
				this.producer = null;
				await p?.disconnect().catch(() => undefined);
			} finally {
				this.sending = null;
				if (this.counters.dropped > this.droppedReported) {
					process.stderr.write(`${JSON.stringify({ level: "warn", time: new Date().toISOString(), msg: "log shipper dropped lines", dropped: this.counters.dropped - this.droppedReported, totalDropped: this.counters.dropped })}\n`);
					this.droppedReported = this.counters.dropped;
				}
			}
		})();
		return this.sending;
	}

	async close(): Promise<void> {
		clearInterval(this.timer);
		this.pauseUntil = 0;
		await this.flush().catch(() => undefined);
		await this.producer?.disconnect().catch(() => undefined);
		this.producer = null;
	}
}

export { logLevel };
