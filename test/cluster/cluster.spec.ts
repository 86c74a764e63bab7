import { client, registerUser, startSystem } from "../support/system";

/** What only a cluster can show: nodes that come and go, and caches shared between them. */
describe("cluster", () => {
	it("is not ready while the users service has no node", async () => {
		const sys = await startSystem();
		try {
			const api = client(sys.baseUrl);
			const usersNode = sys.brokers[0];
			await usersNode.stop();
			for (let i = 0; i < 50 && (await api.get("/ready")).status === 200; i++) await new Promise(r => setTimeout(r, 100));
			const ready = await api.get("/ready");
			expect(ready.status).toBe(503);
			expect(ready.body.checks.services.users).toBe(false);
			const res = await api.post("/usercenter/v1/user/login", { mobile: "13800000000", password: "secret123" });
			expect(res.status).toBe(503);
			expect(res.body.code).toBe(100011);
		} finally {
			await sys.stop();
		}
	});

	it("keeps the user cache coherent across several users nodes", async () => {
		const sys = await startSystem({ usersNodes: 2 });
		try {
			const api = client(sys.baseUrl);
			const { token } = await registerUser(api);
			for (let round = 0; round < 3; round++) {
				const nickname = `round-${round}`;
				expect((await api.put("/usercenter/v1/user/update", { nickname }, token)).status).toBe(200);
				for (let i = 0; i < 6; i++) {
					const res = await api.post("/usercenter/v1/user/detail", {}, token);
					expect(res.body.data.userInfo.nickname).toBe(nickname);
				}
			}
		} finally {
			await sys.stop();
		}
	});
});
