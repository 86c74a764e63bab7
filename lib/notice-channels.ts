import crypto from "node:crypto";

/** What a delivery attempt ended in. `permanent` failures are not retried. */
export type DeliveryResult = { ok: true } | { ok: false; permanent: boolean; error: string };

/** `sha256=<hex HMAC-SHA256(secret, body)>`: what the X-Lottery-Signature header carries. */
export const webhookSignature = (secret: string, body: string): string => `sha256=${crypto.createHmac("sha256", secret).update(body).digest("hex")}`;

/**
 * POSTs the event to the deployment's webhook, signed. 2xx: delivered. 4xx (but 408 and 429): the receiver
 * refuses it for good. Anything else, or no answer within 5 s: try again later.
 */
export async function sendWebhook(url: string, secret: string, body: string, eventId: string, type: string): Promise<DeliveryResult> {
	try {
		const res = await fetch(url, {
			method: "POST",
			headers: {
				"Content-Type": "application/json",
				"X-Lottery-Event": type,
				"X-Lottery-Event-Id": eventId,
				"X-Lottery-Signature": webhookSignature(secret, body),
			},
			body,
			signal: AbortSignal.timeout(5000),
		});
		await res.arrayBuffer().catch(() => undefined);
		if (res.ok) return { ok: true };
		const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
		return { ok: false, permanent, error: `HTTP ${res.status}` };
	} catch (err) {
		return { ok: false, permanent: false, error: (err as Error).message };
	}
}

/** WeChat errcodes that no retry can fix: the user refused the subscription, a wrong openid or template. */
const WX_PERMANENT = new Set([43101, 40003, 40037, 47003, 41030]);
/** The access token expired or was revoked: fetch a new one and try again. */
const WX_TOKEN_INVALID = new Set([40001, 40014, 42001]);

/** WeChat subscription messages (`/cgi-bin/message/subscribe/send`) with a cached access token. */
export class WeChatSubscribe {
	private token: { value: string; until: number } | null = null;

	constructor(private readonly base: string, private readonly appId: string, private readonly secret: string, private readonly templateId: string) {}

	private async accessToken(): Promise<string> {
		if (this.token && this.token.until > Date.now()) return this.token.value;
		const url = new URL(`${this.base}/cgi-bin/token`);
		url.searchParams.set("grant_type", "client_credential");
		url.searchParams.set("appid", this.appId);
		url.searchParams.set("secret", this.secret);
		const body = (await (await fetch(url, { signal: AbortSignal.timeout(5000) })).json()) as { access_token?: string; expires_in?: number; errcode?: number; errmsg?: string };
		if (!body.access_token) throw new Error(`WeChat token: ${body.errcode} ${body.errmsg}`);
		// Refresh five minutes early.
		this.token = { value: body.access_token, until: Date.now() + Math.max(60, (body.expires_in ?? 7200) - 300) * 1000 };
		return body.access_token;
	}

	async send(openid: string, page: string, data: Record<string, string>): Promise<DeliveryResult> {
		try {
			for (let attempt = 0; attempt < 2; attempt++) {
				const token = await this.accessToken();
				const res = await fetch(`${this.base}/cgi-bin/message/subscribe/send?access_token=${encodeURIComponent(token)}`, {
					method: "POST",
					headers: { "Content-Type": "application/json" },
					body: JSON.stringify({ touser: openid, template_id: this.templateId, page, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, { value: v }])) }),
					signal: AbortSignal.timeout(5000),
				});
				const body = (await res.json()) as { errcode?: number; errmsg?: string };
				if (!body.errcode) return { ok: true };
				if (WX_TOKEN_INVALID.has(body.errcode) && attempt === 0) {
					this.token = null;
					continue;
				}
				return { ok: false, permanent: WX_PERMANENT.has(body.errcode), error: `WeChat ${body.errcode} ${body.errmsg ?? ""}`.trim() };
			}
			return { ok: false, permanent: false, error: "WeChat token kept failing" };
		} catch (err) {
			return { ok: false, permanent: false, error: (err as Error).message };
		}
	}
}
