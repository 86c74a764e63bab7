import type { ServiceBroker } from "moleculer";

/**
 * Business metrics beside Moleculer's own, exported by each node's Prometheus endpoint (METRICS_PORT).
 * Names follow Prometheus' conventions once Moleculer turns the dots into underscores.
 */
export const BUSINESS_METRICS = {
	participations: { type: "counter", name: "lottery.participations.total", labelNames: ["kind"], description: "Participations accepted (kind: scheduled or instant)" },
	draws: { type: "counter", name: "lottery.draws.total", labelNames: [], description: "Scheduled draws committed" },
	instantOutcomes: { type: "counter", name: "lottery.instant.outcomes.total", labelNames: ["won"], description: "Instant draws decided (won: true or false)" },
	poolRefusals: { type: "counter", name: "lottery.prize_pool.refusals.total", labelNames: [], description: "Instant wins refused because the prize had no stock left" },
	outboxPending: { type: "gauge", name: "lottery.outbox.pending", labelNames: [], description: "Domain events waiting in the outbox" },
} as const;

type MetricKey = keyof typeof BUSINESS_METRICS;

function ensure(broker: ServiceBroker, key: MetricKey): boolean {
	if (!broker.isMetricsEnabled()) return false;
	const def = BUSINESS_METRICS[key];
	if (!broker.metrics.getMetric(def.name)) broker.metrics.register({ ...def, labelNames: [...def.labelNames] } as never);
	return true;
}

export function countMetric(broker: ServiceBroker, key: MetricKey, labels?: Record<string, string>, by = 1): void {
	if (ensure(broker, key)) broker.metrics.increment(BUSINESS_METRICS[key].name, labels, by);
}

export function setMetric(broker: ServiceBroker, key: MetricKey, value: number): void {
	if (ensure(broker, key)) broker.metrics.set(BUSINESS_METRICS[key].name, value);
}
