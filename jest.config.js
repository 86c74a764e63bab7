/**
 * Three projects: `unit` (pure code), and the integration + end-to-end suites twice — once on the embedded
 * default (SQLite, one broker, memory cache) and once as a cluster (MySQL, Redis cacher, Redis transporter,
 * gateway and services on separate brokers). TEST_BACKEND tells test/support which one to build.
 */
const transform = { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] };
const common = { testEnvironment: "node", transform, moduleFileExtensions: ["ts", "js", "json"] };
const system = ["<rootDir>/test/integration/**/*.spec.ts", "<rootDir>/test/e2e/**/*.spec.ts"];

module.exports = {
	testTimeout: 30000,
	projects: [
		{ ...common, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.spec.ts"] },
		{ ...common, displayName: "embedded", testMatch: system, setupFiles: ["<rootDir>/test/support/backend-embedded.ts"] },
		{ ...common, displayName: "cluster", testMatch: [...system, "<rootDir>/test/cluster/**/*.spec.ts"], setupFiles: ["<rootDir>/test/support/backend-cluster.ts"] },
		{ ...common, displayName: "browser", testMatch: ["<rootDir>/test/browser/**/*.spec.ts"], setupFiles: ["<rootDir>/test/support/backend-embedded.ts"] },
		// A real Kafka broker, started (and restarted) by the suite itself through deploy/kafka.
		{ ...common, displayName: "kafka", testMatch: ["<rootDir>/test/kafka/**/*.spec.ts"], setupFiles: ["<rootDir>/test/support/backend-cluster.ts"] },
	],
};
