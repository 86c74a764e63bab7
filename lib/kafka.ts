import { Kafka, logLevel, type Producer } from "kafkajs";
import type { EventSink, OutboxRow } from "./outbox";

export interface KafkaSettings {
	brokers: string[];
	clientId: string;
	topic: string;
}

export function createKafka(settings: KafkaSettings): Kafka {
	return new Kafka({
		clientId: settings.clientId,
		brokers: settings.brokers,
		logLevel: logLevel.NOTHING,
		connectionTimeout: 3000,
		requestTimeout: 10_000,
		retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
	});
}

/**
 * Publishes outbox rows to Kafka with an idempotent producer (acks from all in-sync replicas, one request in
 * flight), keyed by aggregate ("lottery:42") so that each lottery's events land in one partition, in order.
 */
export class KafkaSink implements EventSink {
	private producer: Producer | null = null;

	constructor(private readonly kafka: Kafka, private readonly topic: string) {}

	private async connected(): Promise<Producer> {
		if (!this.producer) {
			await ensureTopic(this.kafka, this.topic);
			const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
			await producer.connect();
			this.producer = producer;
		}
		return this.producer;
	}

	async publish(rows: OutboxRow[]): Promise<void> {
		try {
			const producer = await this.connected();
			await producer.send({
				topic: this.topic,
				acks: -1,
				messages: rows.map(r => ({ key: `${r.aggregateType}:${r.aggregateId}`, value: r.payload, headers: { eventId: r.eventId, type: r.type } })),
			});
		} catch (err) {
			// Start from a fresh producer next time: after a broker restart the old one may be stuck.
			await this.close();
			throw err;
		}
	}

	async close(): Promise<void> {
		const p = this.producer;
		this.producer = null;
		if (p) await p.disconnect().catch(() => undefined);
	}
}

/** Creates the topic when it does not exist yet (3 partitions: events of one lottery share one by key). */
export async function ensureTopic(kafka: Kafka, topic: string, numPartitions = 3): Promise<void> {
	const admin = kafka.admin();
	await admin.connect();
	try {
		const existing = await admin.listTopics();
		if (!existing.includes(topic)) await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
	} finally {
		await admin.disconnect();
	}
}
