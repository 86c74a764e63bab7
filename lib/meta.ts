import type { Context } from "moleculer";
import { AppError } from "../domain/errors";

/** The caller as the gateway resolved it from the bearer token. */
export interface AuthUser {
	id: number;
	isAdmin: boolean;
}

/** users.resolveTokens' answer for one token: whose it is and until when, or why it is no credential. */
export type TokenResolution = (AuthUser & { exp: number }) | { refused: string };

/** What the gateway puts in ctx.meta for the actions it calls. */
export interface RequestMeta {
	user?: AuthUser | null;
	clientIp?: string;
}

export type Ctx<P = Record<string, never>> = Context<P, RequestMeta>;

/** The caller's id; actions marked `auth: "required"` only run when the gateway resolved one. */
export function callerId(ctx: Ctx<unknown>): number {
	const id = ctx.meta.user?.id;
	if (!id) throw new AppError("UNAUTHORIZED");
	return id;
}
