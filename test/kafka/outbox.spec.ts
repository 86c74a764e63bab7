import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import { ensureTopic } from "../../lib/kafka";
import { loadConfig } from "../../lib/config";
import { KafkaLogShipper } from "../../lib/log-shipper";
import { createNode } from "../../lib/node";
import { createLottery, L, nowSec, prize } from "../support/lottery";
import { client, registerUser, startSystem, type Client, type TestSystem } from "../support/system";
import { waitFor } from "../support/wait";

const run = promisify(execFile);
const root = path.resolve(__dirname, "../..");
const port = Number(process.env.TEST_KAFKA_PORT ?? 19092);
const brokerEnv = { ...process.env, KAFKA_PORT: String(port), KAFKA_STATE_DIR: `/tmp/lottery-kafka-test-${port}` };
const startBroker = () => run("bash", [path.join(root, "deploy/kafka/start.sh")], { env: brokerEnv, timeout: 240_000 });
const stopBroker = (keep: boolean) => run("bash", [path.join(root, "deploy/kafka/stop.sh")], { env: { ...brokerEnv, KAFKA_KEEP_DATA: keep ? "1" : "0" } });

interface Seen {
	eventId: string;
	type: string;
	aggregateType: string;
	aggregateId: string;
	data: Record<string, unknown>;
}

/** A real Apache Kafka broker (deploy/kafka), stopped and started again in the middle. */
describe("domain events through Kafka", () => {
	jest.setTimeout(180_000);
	let sys: TestSystem;
	let api: Client;
	let consumer: Consumer;
	const topic = `lottery.events.test.${process.pid}.${Date.now()}`;
	const seen: Seen[] = [];

	beforeAll(async () => {
		await startBroker();
		sys = await startSystem({ env: { KAFKA_BROKERS: `127.0.0.1:${port}`, KAFKA_TOPIC: topic, OUTBOX_POLL_MS: "100", DRAW_POLL_MS: "200" } });
		api = client(sys.baseUrl);
		const kafka = new Kafka({ clientId: "test-reader", brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 200, maxRetryTime: 2000 } });
		await ensureTopic(kafka, topic);
		consumer = kafka.consumer({ groupId: `test-reader-${process.pid}`, retry: { retries: 30 } });
		await consumer.connect();
		await consumer.subscribe({ topic, fromBeginning: true });
		await consumer.run({
			eachMessage: async ({ message }) => {
				const e = JSON.parse(message.value!.toString());
				expect(message.key?.toString()).toBe(`${e.aggregateType}:${e.aggregateId}`);
				seen.push({ eventId: e.eventId, type: e.type, aggregateType: e.aggregateType, aggregateId: e.aggregateId, data: e.data });
			},
		});
	});
	afterAll(async () => {
		await consumer?.disconnect().catch(() => undefined);
		await sys?.stop();
		await stopBroker(false);
	});

	async function outbox(): Promise<Array<{ id: number; eventId: string; type: string; aggregateType: string; aggregateId: string; publishedAt: number | null }>> {
		const [rows] = await sys.db.query("SELECT id, event_id AS eventId, type, aggregate_type AS aggregateType, aggregate_id AS aggregateId, published_at AS publishedAt FROM outbox ORDER BY id");
		return rows as never;
	}


	it("loses no event while the broker is down, and delivers each once, in order per lottery", async () => {
		const owner = await registerUser(api);
		const people = await Promise.all(Array.from({ length: 3 }, () => registerUser(api)));
		const first = await createLottery(api, owner.token);
		for (const p of people) await api.post(`${L}/participation`, { lotteryId: first }, p.token);
		await waitFor(async () => (await outbox()).every(r => r.publishedAt), 30_000, "the first events to be published");

		await stopBroker(true);
		// Changes while Kafka is away: they commit, their events wait in the outbox.
		const second = await createLottery(api, owner.token, { publishType: 2 });
		expect((await api.post(`${L}/publishLottery`, { id: second }, owner.token)).status).toBe(200);
		for (const p of people) expect((await api.post(`${L}/participation`, { lotteryId: second }, p.token)).status).toBe(200);
		const third = await createLottery(api, owner.token);
		expect((await api.post(`${L}/cancelLottery`, { id: third }, owner.token)).status).toBe(200);
		await new Promise(r => setTimeout(r, 1000));
		const waiting = (await outbox()).filter(r => !r.publishedAt);
		expect(waiting.length).toBeGreaterThanOrEqual(7);

		await startBroker();
		await waitFor(async () => (await outbox()).every(r => r.publishedAt), 90_000, "the outbox to drain after the restart");
		const all = await outbox();
		await waitFor(() => new Set(seen.map(s => s.eventId)).size >= all.length, 60_000, "the consumer to see every event");

		// every event exactly once
		const ids = seen.map(s => s.eventId);
		expect(new Set(ids).size).toBe(ids.length);
		expect(new Set(ids)).toEqual(new Set(all.map(r => r.eventId)));
		// in the order they were written, per lottery
		for (const lotteryId of [first, second, third].map(String)) {
			const written = all.filter(r => r.aggregateType === "lottery" && r.aggregateId === lotteryId).map(r => r.eventId);
			const received = seen.filter(s => s.aggregateType === "lottery" && s.aggregateId === lotteryId).map(s => s.eventId);
			expect(received).toEqual(written);
		}
		expect(seen.filter(s => s.aggregateType === "lottery" && s.aggregateId === String(second)).map(s => s.type)).toEqual([
			"lottery.created", "lottery.published", "participation.created", "participation.created", "participation.created",
		]);
		expect(seen.find(s => s.type === "lottery.cancelled")?.aggregateId).toBe(String(third));
		expect(seen.filter(s => s.type === "user.registered").length).toBeGreaterThanOrEqual(4);
	});

	it("tells the winners and the others through the notice service, once", async () => {
		const owner = await registerUser(api);
		const people = await Promise.all(Array.from({ length: 4 }, () => registerUser(api)));
		const id = await createLottery(api, owner.token, { announceTime: nowSec() + 3, prizes: [prize(1, { name: "Bike" })] });
		for (const p of people) await api.post(`${L}/participation`, { lotteryId: id }, p.token);
		const inbox = (token: string) => api.post("/notice/v1/notice/list", { lastId: 0, pageSize: 20 }, token);
		await waitFor(async () => {
			const lists = await Promise.all(people.map(p => inbox(p.token)));
			return lists.every(l => l.body.data.list.some((n: any) => n.lotteryId === id));
		}, 30_000, "every participant's notice");
		const lists = await Promise.all(people.map(p => inbox(p.token)));
		const won = lists.filter(l => l.body.data.list.some((n: any) => n.lotteryId === id && n.type === "prize.won"));
		expect(won).toHaveLength(1);
		expect(won[0].body.data.list.find((n: any) => n.type === "prize.won").content).toContain("Bike");
		for (const l of lists) expect(l.body.data.list.filter((n: any) => n.lotteryId === id)).toHaveLength(1);
		expect((await inbox(owner.token)).body.data.list.some((n: any) => n.lotteryId === id && n.title === "Your lottery was drawn")).toBe(true);
	});

	it("ships the nodes' log lines to the log topic, request ids and all, without a secret in them", async () => {
		const logTopic = `lottery-log-test-${process.pid}-${Date.now()}`;
		const config = loadConfig({
			PORT: "0", LOG_LEVEL: "info", JWT_SECRET: "ship-secret", DATA_DIR: `/tmp/lottery-logship-${process.pid}`, NODE_ID: "shipping-node",
			LOG_KAFKA_BROKERS: `127.0.0.1:${port}`, LOG_KAFKA_TOPIC: logTopic,
		});
		const quiet = new (require("node:stream").Writable)({ write: (_c: unknown, _e: unknown, cb: () => void) => cb() });
		const node = createNode(config, { skipProcessEventRegistration: true }, { logDestination: quiet });
		await node.start();
		const nodePort = ((node.getLocalService("api") as unknown as { server: import("node:http").Server }).server.address() as import("node:net").AddressInfo).port;
		const res = await fetch(`http://127.0.0.1:${nodePort}/usercenter/v1/user/register`, { method: "POST", headers: { "Content-Type": "application/json", "X-Request-ID": "ship-req-1" }, body: JSON.stringify({ mobile: "13612345678", password: "Very-Secret-1" }) });
		expect(res.status).toBe(200);

		const kafka = new Kafka({ clientId: "log-reader", brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
		await ensureTopic(kafka, logTopic, 1);
		const reader = kafka.consumer({ groupId: `log-reader-${process.pid}` });
		const lines: Array<Record<string, unknown>> = [];
		await reader.connect();
		await reader.subscribe({ topic: logTopic, fromBeginning: true });
		await reader.run({ eachMessage: async ({ message }) => { lines.push(JSON.parse(message.value!.toString())); } });
		try {
			await waitFor(() => lines.some(l => l.requestId === "ship-req-1" && l.msg === "user registered"), 60_000, "the shipped line");
			const line = lines.find(l => l.requestId === "ship-req-1" && l.msg === "user registered")!;
			expect(line).toMatchObject({ nodeID: "shipping-node", svc: "users", level: "info" });
			expect(typeof line.time).toBe("string");
			expect(JSON.stringify(lines)).not.toContain("Very-Secret-1");
		} finally {
			await reader.disconnect();
			await node.stop();
		}
	});

	it("drops and counts lines rather than slow anyone down when Kafka cannot be reached", async () => {
		const shipper = new KafkaLogShipper(["127.0.0.1:9"], "nowhere", 50);
		const started = process.hrtime.bigint();
		for (let i = 0; i < 1000; i++) shipper.write(`{"msg":"line ${i}"}\n`);
		const ms = Number(process.hrtime.bigint() - started) / 1e6;
		expect(ms).toBeLessThan(500);
		await shipper.flush();
		const stats = shipper.stats();
		expect(stats.buffered).toBe(50);
		expect(stats.dropped).toBe(950);
		expect(stats.shipped).toBe(0);
		expect(stats.failures).toBeGreaterThanOrEqual(1);
		await shipper.close();
	});
});
