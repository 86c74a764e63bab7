import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { ALL_SERVICES, ENV_VARS, loadConfig } from "../../lib/config";

const root = path.resolve(__dirname, "../..");
const read = (f: string) => fs.readFileSync(path.join(root, f), "utf8");

/** No Docker engine runs here: the compose files are checked with a real YAML parser instead. */
function compose(file: string): { services: Record<string, any>; [k: string]: any } {
	const doc = YAML.parseDocument(read(file), { merge: true });
	expect(doc.errors).toEqual([]);
	return doc.toJS({ maxAliasCount: 100 });
}

describe("deployment files", () => {
	it("docker-compose-env.yml brings MySQL 8 and Redis 7 with health checks", () => {
		const env = compose("docker-compose-env.yml");
		expect(env.services.mysql.image).toMatch(/^mysql:8/);
		expect(env.services.redis.image).toMatch(/^redis:7/);
		for (const s of ["mysql", "redis"]) {
			expect(env.services[s].healthcheck.test.length).toBeGreaterThan(1);
			expect(env.services[s].networks).toContain("lottery");
		}
		expect(env.networks.lottery.name).toBe("lottery");
	});

	it("docker-compose-env.yml runs Apache Kafka in KRaft mode and the log pipeline of the seed", () => {
		const env = compose("docker-compose-env.yml");
		const kafka = env.services.kafka;
		expect(kafka.image).toMatch(/^apache\/kafka:(3\.9|4\.)/);
		expect(kafka.environment.KAFKA_PROCESS_ROLES).toBe("broker,controller");
		expect(kafka.environment.KAFKA_ADVERTISED_LISTENERS).toContain("kafka:9092");
		for (const s of ["elasticsearch", "kibana", "go-stash", "filebeat"]) expect(env.services[s]).toBeDefined();
		expect(env.services["go-stash"].volumes[0]).toContain("deploy/go-stash/config.yaml");
		expect(env.services.filebeat.volumes[0]).toContain("deploy/filebeat/filebeat.yml");
	});

	it("Filebeat and go-stash agree with the nodes on the log topic and fields", () => {
		const topic = loadConfig({}).logKafkaTopic;
		const filebeat = YAML.parse(read("deploy/filebeat/filebeat.yml"));
		expect(filebeat["output.kafka"].topic).toBe(topic);
		expect(filebeat["output.kafka"].hosts).toEqual(["kafka:9092"]);
		const decode = filebeat["filebeat.inputs"][0].processors.find((p: Record<string, unknown>) => p.decode_json_fields);
		expect(decode.decode_json_fields.fields).toEqual(["message"]);
		const stash = YAML.parse(read("deploy/go-stash/config.yaml"));
		const cluster = stash.Clusters[0];
		expect(cluster.Input.Kafka.Topics).toEqual([topic]);
		expect(cluster.Output.ElasticSearch.Index).toMatch(/\{\{yyyy-MM-dd\}\}/);
		// go-stash moves our pino `msg` to `message`; level, requestId, nodeID, svc pass through as they are
		expect(cluster.Filters.find((f: Record<string, unknown>) => f.Action === "transfer")).toMatchObject({ Field: "msg", Target: "message" });
		for (const f of cluster.Filters.filter((x: Record<string, unknown>) => x.Action === "remove_field")) {
			for (const kept of ["level", "requestId", "nodeID", "svc", "time"]) expect(f.Fields).not.toContain(kept);
		}
	});

	it("docker-compose.yml runs one image as a gateway node and service nodes over the Redis transporter", () => {
		const app = compose("docker-compose.yml");
		const roles = Object.entries(app.services).map(([name, s]) => ({ name, env: s.environment as Record<string, string>, s }));
		const covered = new Set<string>();
		for (const { env, s } of roles) {
			expect(s.build).toBe(".");
			expect(env.TRANSPORTER).toMatch(/^redis:\/\//);
			expect(env.DB_URI).toMatch(/^mysql:\/\//);
			expect(env.KAFKA_BROKERS).toBe("kafka:9092");
			expect(env.NODE_ENV).toBe("production");
			for (const svc of env.SERVICES.split(",")) {
				expect(ALL_SERVICES).toContain(svc);
				covered.add(svc);
			}
			for (const key of Object.keys(env)) expect(ENV_VARS).toContain(key);
		}
		expect([...covered].sort()).toEqual([...ALL_SERVICES].sort());
		expect(app.services.api.ports[0]).toMatch(/3000$/);
		expect(app.services.api.healthcheck.test.join(" ")).toContain("/ready");
		expect(app.networks.lottery).toMatchObject({ external: true, name: "lottery" });
	});

	it("the Dockerfile builds in one stage and runs the compiled server in another", () => {
		const df = read("Dockerfile");
		expect(df.match(/^FROM /gm)).toHaveLength(2);
		expect(df).toMatch(/npm ci/);
		expect(df).toMatch(/npm run build/);
		expect(df).toMatch(/CMD \["node", "dist\/server.js"\]/);
	});

	it("the Makefile has go-lottery's targets and ours", () => {
		const mk = read("Makefile");
		for (const t of ["docker-up-env", "docker-up-app", "docker-down-env", "docker-down-app", "dev", "test", "migrate"]) {
			expect(mk).toMatch(new RegExp(`^${t}:`, "m"));
		}
	});
});
