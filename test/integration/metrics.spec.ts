import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createLottery, L, prize } from "../support/lottery";
import { client, registerUser, startSystem, type TestSystem } from "../support/system";
import { waitFor } from "../support/wait";

/** The Prometheus text of one node's /metrics. */
async function scrape(sys: TestSystem, index: number): Promise<string> {
	const broker = sys.brokers[index];
	const reporter = (broker.metrics as unknown as { reporter: Array<{ server: Server }> }).reporter[0];
	const port = (reporter.server.address() as AddressInfo).port;
	return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

const value = (text: string, name: string, labels = ""): number => {
	const line = text.split("\n").find(l => l.startsWith(name) && !l.startsWith("#") && l.includes(labels));
	return line ? Number(line.trim().split(/\s+/).pop()) : 0;
};

describe(`Prometheus metrics (${process.env.TEST_BACKEND})`, () => {
	let sys: TestSystem;
	beforeAll(async () => {
		sys = await startSystem({ env: { METRICS_PORT: "0", DRAW_POLL_MS: "200" } });
	});
	afterAll(() => sys?.stop());

	it("exposes Moleculer's metrics and the business counters on every node", async () => {
		const api = client(sys.baseUrl);
		const owner = await registerUser(api);
		const [a, b] = await Promise.all([registerUser(api), registerUser(api)]);
		const scheduled = await createLottery(api, owner.token, { announceType: 2, joinNumber: 2, prizes: [prize(1)] });
		await api.post(`${L}/participation`, { lotteryId: scheduled }, a.token);
		await api.post(`${L}/participation`, { lotteryId: scheduled }, b.token);
		const instant = await createLottery(api, owner.token, { announceType: 3, announceTime: 0, prizes: [prize(1, { count: 1, probability: 10_000 })] });
		await api.post(`${L}/instantParticipation`, { lotteryId: instant }, a.token);
		await api.post(`${L}/instantParticipation`, { lotteryId: instant }, b.token);

		// every node answers; the counters live where the work was done
		const all = async () => (await Promise.all(sys.brokers.map((_, i) => scrape(sys, i)))).join("\n");
		await waitFor(async () => value(await all(), "lottery_draws_total") >= 1, 10_000, "the draw to be counted");
		const text = await all();
		expect(text).toContain("moleculer_request_total");
		expect(value(text, "lottery_participations_total", 'kind="scheduled"')).toBe(2);
		expect(value(text, "lottery_participations_total", 'kind="instant"')).toBe(2);
		expect(value(text, "lottery_instant_outcomes_total", 'won="true"')).toBe(1);
		expect(value(text, "lottery_instant_outcomes_total", 'won="false"')).toBe(1);
		expect(value(text, "lottery_prize_pool_refusals_total")).toBe(1);
		await waitFor(async () => /lottery_outbox_pending\{[^}]*\} 0/.test(await all()), 10_000, "the outbox backlog gauge to show an empty outbox");
	});
});
