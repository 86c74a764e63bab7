import type { ServiceBroker } from "moleculer";

const draining = new WeakSet<ServiceBroker>();

/** From now on this node refuses new work: /ready answers 503 so load balancers stop sending it traffic. */
export function markDraining(broker: ServiceBroker): void {
	draining.add(broker);
}

export function isDraining(broker: ServiceBroker): boolean {
	return draining.has(broker) || broker.stopping === true;
}
