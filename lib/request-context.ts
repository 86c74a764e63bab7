import { AsyncLocalStorage } from "node:async_hooks";
import type { ActionHandler, Context, Middleware } from "moleculer";

/** What every log line of a request carries, whichever node and service writes it. */
export interface RequestContext {
	requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export const currentRequest = (): RequestContext | undefined => storage.getStore();

/**
 * Runs each local action and event handler inside the request's context, so pino's mixin (see
 * moleculer.config.ts) stamps `requestId` on every line the handler logs. The request id travels between
 * nodes with the Moleculer context itself.
 */
export const RequestContextMiddleware: Middleware = {
	localAction(next: ActionHandler, action: { service?: { name?: string } }) {
		// The gateway names the request id on its own lines (access log, failures), and a gateway-only node
		// then never turns AsyncLocalStorage on: on Node.js 20 that puts promise hooks on every promise of the
		// process, which cost the gateway about a fifth of its throughput.
		if (action.service?.name === "api") return next;
		return (ctx: Context) => {
			const requestId = ctx.requestID ?? ctx.id;
			if (storage.getStore()?.requestId === requestId) return next(ctx);
			return storage.run({ requestId }, () => next(ctx));
		};
	},
	localEvent(next: ActionHandler, event: { service?: { name?: string } }) {
		if (event.service?.name === "api") return next;
		return (ctx: Context) => {
			const requestId = ctx.requestID ?? ctx.id;
			return storage.run({ requestId }, () => next(ctx));
		};
	},
};
