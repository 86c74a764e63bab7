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
	/** Subscription messages received (`/cgi-bin/message/subscribe/send`). */
	messages: Array<{ touser: string; template_id: string; page: string; data: Record<string, { value: string }> }>;
	/** Makes messages to this openid answer with a WeChat error (e.g. 43101: the user refused). */
	refuseOpenid(openid: string, errcode: number): void;
	close(): Promise<void>;
}

export async function startFakeWeChat(appId = "wx-test-app", secret = "wx-test-secret"): Promise<FakeWeChat> {
	const codes = new Map<string, object>();
	const requests: URL[] = [];
	const messages: FakeWeChat["messages"] = [];
	const refused = new Map<string, number>();
	let issuedToken = "";
	const server = http.createServer((req, res) => {
		const url = new URL(req.url ?? "/", "http://localhost");
		requests.push(url);
		res.setHeader("Content-Type", "text/plain"); // WeChat really answers JSON as text/plain
		if (url.pathname === "/cgi-bin/token") {
			const ok = url.searchParams.get("appid") === appId && url.searchParams.get("secret") === secret && url.searchParams.get("grant_type") === "client_credential";
			issuedToken = crypto.randomBytes(8).toString("hex");
			res.end(JSON.stringify(ok ? { access_token: issuedToken, expires_in: 7200 } : { errcode: 40125, errmsg: "invalid appsecret" }));
			return;
		}
		if (url.pathname === "/cgi-bin/message/subscribe/send") {
			let body = "";
			req.on("data", c => (body += c));
			req.on("end", () => {
				if (url.searchParams.get("access_token") !== issuedToken) return res.end(JSON.stringify({ errcode: 40001, errmsg: "invalid credential" }));
				const msg = JSON.parse(body);
				const refusal = refused.get(msg.touser);
				if (refusal) return res.end(JSON.stringify({ errcode: refusal, errmsg: "user refuse to accept the msg" }));
				messages.push(msg);
				res.end(JSON.stringify({ errcode: 0, errmsg: "ok" }));
			});
			return;
		}
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
		messages,
		refuseOpenid(openid, errcode) {
			refused.set(openid, errcode);
		},
		addCode(code, openid) {
			const session_key = crypto.randomBytes(16).toString("base64");
			codes.set(code, { openid, session_key });
			return session_key;
		},
		refuseCode(code, errcode, errmsg) {
			codes.set(code, { errcode, errmsg });
		},
		close: () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()); }),
	};
}
