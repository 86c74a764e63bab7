import { markDraining } from "../../lib/lifecycle";
import { client, startSystem } from "../support/system";

describe(`node lifecycle (${process.env.TEST_BACKEND})`, () => {
	it("reports not ready once draining, while live and still serving in-flight work", async () => {
		const sys = await startSystem();
		try {
			const api = client(sys.baseUrl);
			expect((await api.get("/ready")).status).toBe(200);
			markDraining(sys.gateway);
			const ready = await api.get("/ready");
			expect(ready.status).toBe(503);
			expect(ready.body.checks.broker).toBe(false);
			expect((await api.get("/live")).status).toBe(200);
		} finally {
			await sys.stop();
		}
	});
});
