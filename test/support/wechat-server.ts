import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for api.weixin.qq.com's `GET /sns/jscode2session`, answering in WeChat's format:
 * `{openid, session_key[, unionid]}` on success, `{errcode, errmsg}` on refusal (HTTP 200 either way).
 */
export interface FakeWeChat {
	baseUrl: string;
	appId: string;
	secret: string;
	/** Registers a login code; returns the session key WeChat would hand out for it. */
	addCode(code: string, openid: string): string;
	/** Makes a code answer with a WeChat error. */
	refuseCode(code: string, errcode: number, errmsg: string): void;
	/** Requests seen, for assertions on what we sent. */
	requests: URL[];
	close(): Promise<void>;
}

export async function startFakeWeChat(appId = "wx-test-app", secret = "wx-test-secret"): Promise<FakeWeChat> {
	const codes = new Map<string, object>();
	const requests: URL[] = [];
	const server = http.createServer((req, res) => {
		const url = new URL(req.url ?? "/", "http://localhost");
		requests.push(url);
		res.setHeader("Content-Type", "text/plain"); // WeChat really answers JSON as text/plain
		if (url.pathname !== "/sns/jscode2session") {
			res.statusCode = 404;
			res.end("not found");
			return;
		}
		if (url.searchParams.get("appid") !== appId || url.searchParams.get("secret") !== secret) {
			res.end(JSON.stringify({ errcode: 40125, errmsg: "invalid appsecret" }));
			return;
		}
		if (url.searchParams.get("grant_type") !== "authorization_code") {
			res.end(JSON.stringify({ errcode: 40002, errmsg: "invalid grant_type" }));
			return;
		}
		const answer = codes.get(url.searchParams.get("js_code") ?? "");
		res.end(JSON.stringify(answer ?? { errcode: 40029, errmsg: "invalid code" }));
	});
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	const port = (server.address() as AddressInfo).port;
	return {
		baseUrl: `http://127.0.0.1:${port}`,
		appId,
		secret,
		requests,
		addCode(code, openid) {
			const session_key = crypto.randomBytes(16).toString("base64");
			codes.set(code, { openid, session_key });
			return session_key;
		},
		refuseCode(code, errcode, errmsg) {
			codes.set(code, { errcode, errmsg });
		},
		close: () => new Promise(resolve => server.close(() => resolve())),
	};
}
