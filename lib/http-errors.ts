import { AppError, ErrorTable, type ErrorName } from "../domain/errors";

/** What the gateway answers for an error: the HTTP status and the envelope. */
export interface HttpError {
	status: number;
	body: { code: number; msg: string };
	/** Seconds, for the Retry-After header. */
	retryAfter?: number;
	/** False for errors nobody expected: those are logged with their stack, and the client sees none of it. */
	expected: boolean;
}

interface ErrorLike {
	name?: string;
	message?: string;
	code?: unknown;
	type?: unknown;
	status?: unknown;
	data?: unknown;
}

const fromTable = (name: ErrorName, msg?: string, retryAfter?: number): HttpError => {
	const e = ErrorTable[name];
	return { status: e.status, body: { code: e.code, msg: msg ?? e.message }, retryAfter, expected: true };
};

interface ValidationItem {
	field?: string;
	message?: string;
	type?: string;
}

function validationMessage(data: unknown): string {
	const items = Array.isArray(data) ? (data as ValidationItem[]) : [];
	if (!items.length) return ErrorTable.INVALID_PARAM.message;
	return items
		.slice(0, 5)
		.map(i => `invalid parameter '${i.field ?? "?"}': ${(i.message ?? i.type ?? "is invalid").replace(/^The '[^']*' field /, "")}`)
		.join("; ");
}

/**
 * Every error a request can end in, mapped to a status and a go-lottery envelope. Only messages written
 * by us reach the client; anything unexpected becomes a bare 500 with code 100001.
 */
export function toHttpError(err: unknown): HttpError {
	const e = (err ?? {}) as ErrorLike;

	if (err instanceof AppError || (e.name === "AppError" && typeof e.type === "string" && e.type in ErrorTable)) {
		const name = e.type as ErrorName;
		const data = (e.data ?? {}) as { retryAfter?: number };
		const out = fromTable(name, name === "SERVER_ERROR" ? undefined : e.message, data.retryAfter);
		return { ...out, expected: name !== "SERVER_ERROR" };
	}

	switch (e.name) {
		case "ValidationError":
			return fromTable("INVALID_PARAM", validationMessage(e.data));
		case "BadRequestError":
			return fromTable("INVALID_PARAM", "bad request");
		case "UnAuthorizedError":
			return fromTable("UNAUTHORIZED", e.type === "NO_TOKEN" ? "missing token: send 'Authorization: Bearer <accessToken>'" : undefined);
		case "ForbiddenError":
			return fromTable("FORBIDDEN");
		case "NotFoundError":
		case "ServiceNotFoundError":
			return fromTable("NOT_FOUND", "no such route");
		case "ServiceUnavailableError":
		case "ServiceNotAvailableError":
			return fromTable("UNAVAILABLE");
		case "RequestTimeoutError":
			return fromTable("TIMEOUT");
		case "RateLimitExceeded":
			return fromTable("RATE_LIMITED");
		case "PayloadTooLarge":
			return fromTable("PAYLOAD_TOO_LARGE");
	}

	// body-parser's errors carry an `type` of their own and an HTTP status.
	if (e.type === "entity.parse.failed" || e.name === "SyntaxError") return fromTable("INVALID_PARAM", "request body is not valid JSON");
	if (e.type === "entity.too.large" || e.status === 413) return fromTable("PAYLOAD_TOO_LARGE");
	if (e.type === "encoding.unsupported" || e.type === "charset.unsupported" || e.status === 415) return fromTable("UNSUPPORTED_MEDIA");

	return { ...fromTable("SERVER_ERROR"), expected: false };
}
