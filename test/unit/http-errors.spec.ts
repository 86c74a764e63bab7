import { Errors } from "moleculer";
import { AppError, AppErrorRegenerator, ErrorTable, invalidParam } from "../../domain/errors";
import { toHttpError } from "../../lib/http-errors";

describe("errors as the client sees them", () => {
	it("maps our own errors through the table, keeping their message and Retry-After", () => {
		expect(toHttpError(new AppError("USER_MOBILE_TAKEN"))).toMatchObject({ status: 409, body: { code: 200001, msg: "this mobile number is already registered" }, expected: true });
		expect(toHttpError(invalidParam("mobile", "must be 11 digits"))).toMatchObject({ status: 400, body: { code: 100002, msg: "invalid parameter 'mobile': must be 11 digits" } });
		expect(toHttpError(new AppError("RATE_LIMITED", undefined, { retryAfter: 17 }))).toMatchObject({ status: 429, retryAfter: 17 });
	});

	it("turns parameter validation failures into 400 naming every field", () => {
		const err = new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
			{ type: "stringPattern", field: "mobile", message: "must be 11 digits" },
			{ type: "required", field: "password", message: "The 'password' field is required." },
		]);
		const mapped = toHttpError(err);
		expect(mapped.status).toBe(400);
		expect(mapped.body.code).toBe(100002);
		expect(mapped.body.msg).toBe("invalid parameter 'mobile': must be 11 digits; invalid parameter 'password': is required.");
	});

	it("maps the gateway's and the broker's own errors", () => {
		expect(toHttpError(new Errors.ServiceNotAvailableError({ action: "users.login" })).status).toBe(503);
		expect(toHttpError(new Errors.RequestTimeoutError({ action: "users.login" })).status).toBe(504);
		expect(toHttpError(Object.assign(new Error("Unexpected token"), { type: "entity.parse.failed", status: 400 })).body.code).toBe(100002);
		expect(toHttpError(Object.assign(new Error("request entity too large"), { type: "entity.too.large", status: 413 })).status).toBe(413);
		expect(toHttpError({ name: "NotFoundError", code: 404 }).body.code).toBe(100007);
		expect(toHttpError({ name: "UnAuthorizedError", code: 401, type: "NO_TOKEN" }).status).toBe(401);
	});

	it("hides everything else behind a bare 500", () => {
		const sqlError = Object.assign(new Error("ER_NO_SUCH_TABLE: Table 'lottery.user' doesn't exist"), { name: "SequelizeDatabaseError", sql: "SELECT * FROM user" });
		const mapped = toHttpError(sqlError);
		expect(mapped).toEqual({ status: 500, body: { code: 100001, msg: "internal server error" }, expected: false, retryAfter: undefined });
		expect(JSON.stringify(mapped.body)).not.toMatch(/ER_NO_SUCH_TABLE|SELECT/);
		expect(toHttpError(new AppError("SERVER_ERROR", "secret detail")).body.msg).toBe("internal server error");
		expect(toHttpError(undefined).status).toBe(500);
	});

	it("survive the transporter as AppError", () => {
		const regenerator = new AppErrorRegenerator();
		const original = new AppError("FORBIDDEN", "not allowed: this sponsor belongs to another user");
		const plain = JSON.parse(JSON.stringify({ name: original.name, message: original.message, code: original.code, type: original.type, data: original.data, retryable: original.retryable }));
		const restored = regenerator.restoreCustomError(plain);
		expect(restored).toBeInstanceOf(AppError);
		expect(toHttpError(restored)).toMatchObject({ status: 403, body: { code: 100008, msg: original.message } });
	});

	it("has unique codes, each documented in doc/errors.md", () => {
		const codes = Object.values(ErrorTable).map(e => e.code);
		expect(new Set(codes).size).toBe(codes.length);
		const doc = require("node:fs").readFileSync(require("node:path").join(__dirname, "../../doc/errors.md"), "utf8") as string;
		for (const [name, e] of Object.entries(ErrorTable)) expect(doc).toContain(`| ${e.code} | ${e.status} | \`${name}\` |`);
	});
});
