import { Errors } from "moleculer";

/**
 * The one table of error codes. `code` is what clients see in the envelope (go-lottery numbering:
 * 1000xx common, 2000xx usercenter, 5000xx lottery), `status` is the HTTP status the gateway answers with.
 * doc/errors.md documents this table; test/unit/errors.spec.ts keeps the two in step.
 */
export const ErrorTable = {
	SERVER_ERROR: { code: 100001, status: 500, message: "internal server error" },
	INVALID_PARAM: { code: 100002, status: 400, message: "invalid parameter" },
	UNAUTHORIZED: { code: 100003, status: 401, message: "missing, invalid or expired token" },
	TOKEN_GENERATE: { code: 100004, status: 500, message: "could not issue a token" },
	NOT_FOUND: { code: 100007, status: 404, message: "not found" },
	FORBIDDEN: { code: 100008, status: 403, message: "not allowed: it is not yours" },
	RATE_LIMITED: { code: 100009, status: 429, message: "too many requests, retry later" },
	CONFLICT: { code: 100010, status: 409, message: "conflict" },
	UNAVAILABLE: { code: 100011, status: 503, message: "service temporarily unavailable, retry later" },
	PAYLOAD_TOO_LARGE: { code: 100012, status: 413, message: "request body too large" },
	TIMEOUT: { code: 100013, status: 504, message: "the request timed out; it may or may not have been applied" },
	UNSUPPORTED_MEDIA: { code: 100014, status: 415, message: "send the body as application/json" },

	USER_MOBILE_TAKEN: { code: 200001, status: 409, message: "this mobile number is already registered" },
	USER_LOGIN_FAILED: { code: 200002, status: 401, message: "wrong mobile number or password" },
	WX_NOT_CONFIGURED: { code: 200003, status: 503, message: "WeChat login is not configured on this server" },
	WX_CODE_REJECTED: { code: 200004, status: 401, message: "WeChat rejected the login code" },
	WX_DATA_INVALID: { code: 200005, status: 400, message: "WeChat encryptedData could not be decrypted or verified" },
	WX_UPSTREAM: { code: 200006, status: 502, message: "WeChat API did not answer correctly" },
	USER_NOT_FOUND: { code: 200007, status: 404, message: "user not found" },

	LOTTERY_NOT_DRAFT: { code: 500020, status: 409, message: "only a draft can be changed or published" },
	LOTTERY_CANCELLED: { code: 500021, status: 409, message: "the lottery was cancelled" },
	LOTTERY_ANNOUNCED: { code: 500022, status: 409, message: "the lottery has already been drawn" },
	LOTTERY_CLOSED: { code: 500023, status: 409, message: "the lottery no longer takes participants" },
	LOTTERY_HAS_PARTICIPANTS: { code: 500024, status: 409, message: "people have joined this lottery: it can no longer be cancelled" },
	LOTTERY_IS_INSTANT: { code: 500025, status: 400, message: "this is an instant lottery: join it through instantParticipation" },
	LOTTERY_NOT_INSTANT: { code: 500026, status: 400, message: "this is not an instant lottery: join it through participation" },
	LOTTERY_NOT_DRAWN: { code: 500027, status: 409, message: "the lottery has not been drawn yet" },
	ALREADY_PARTICIPATED: { code: 500028, status: 409, message: "you have already joined this lottery" },
	LOTTERY_NOT_DUE: { code: 500029, status: 409, message: "the lottery is not due to be drawn yet" },
	PRIZE_NOT_WON: { code: 500030, status: 403, message: "you did not win a prize in this lottery" },
	PRIZE_ALREADY_CLAIMED: { code: 500031, status: 409, message: "this prize has already been claimed" },
	PRIZE_FORFEITED: { code: 500032, status: 410, message: "the award deadline has passed: the prize is forfeited" },
	CLAIM_ALREADY_DELIVERED: { code: 500033, status: 409, message: "this claim has already been marked delivered" },
} as const;

export type ErrorName = keyof typeof ErrorTable;

export interface AppErrorData {
	/** Business code from ErrorTable, shown to clients as `code`. */
	bizCode: number;
	/** The request field at fault, for INVALID_PARAM. */
	field?: string;
	/** Seconds until a rate-limited request may be retried. */
	retryAfter?: number;
}

/**
 * Our one error class. It extends MoleculerError (4xx ones are not retryable) and carries the table
 * entry's name in `type`, so it survives the transporter and the gateway can map it without guessing.
 */
export class AppError extends Errors.MoleculerError {
	declare data: AppErrorData;

	constructor(name: ErrorName, message?: string, extra: Omit<AppErrorData, "bizCode"> = {}) {
		const entry = ErrorTable[name];
		super(message ?? entry.message, entry.status, name, { bizCode: entry.code, ...extra });
		this.name = "AppError";
		this.retryable = entry.status >= 500 && name !== "SERVER_ERROR";
	}
}

export const invalidParam = (field: string, problem: string): AppError =>
	new AppError("INVALID_PARAM", `invalid parameter '${field}': ${problem}`, { field });

export const notFound = (what: string): AppError => new AppError("NOT_FOUND", `${what} not found`);

export const forbidden = (what: string): AppError => new AppError("FORBIDDEN", `not allowed: ${what}`);

/** Restores AppError on the receiving node, so `instanceof AppError` and `retryable` hold across the transporter. */
export class AppErrorRegenerator extends Errors.Regenerator {
	override restoreCustomError(plainError: Errors.PlainMoleculerError): Error | undefined {
		if (plainError.name === "AppError" && plainError.type && plainError.type in ErrorTable) {
			const { bizCode: _bizCode, ...extra } = (plainError.data ?? {}) as AppErrorData;
			return new AppError(plainError.type as ErrorName, plainError.message, extra);
		}
		return undefined;
	}
}
