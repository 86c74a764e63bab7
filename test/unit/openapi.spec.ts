import fs from "node:fs";
import path from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";
import { ErrorTable } from "../../domain/errors";
import { loadConfig } from "../../lib/config";
import { openApiDocument } from "../../lib/node";
import { responseSchemas } from "../../scripts/response-types";
import { objectSchema, ruleToSchema } from "../../lib/openapi";
import { RAW_ROUTES, ROUTES } from "../../services/api.service";
import requestFields from "../fixtures/go-lottery-request-fields.json";
import responseFields from "../fixtures/go-lottery-response-fields.json";
import contract from "../fixtures/go-lottery-routes.json";
import { compatible, flattenFields, swaggerRequestFields, type Fields } from "../support/schema-fields";

const swaggerDir = process.env.GO_LOTTERY_SWAGGER_DIR ?? path.resolve(__dirname, "../../../shared/reference/go-lottery-swagger");

type Doc = { paths: Record<string, Record<string, any>>; components: any };

describe("the OpenAPI document", () => {
	// As npm run openapi makes it: answers typed from the handlers' types (the TypeScript compiler reads services/).
	const doc = openApiDocument(loadConfig({}), responseSchemas()) as unknown as Doc;
	const operations = Object.entries(doc.paths).flatMap(([p, methods]) => Object.entries(methods).map(([m, op]) => ({ route: `${m.toUpperCase()} ${p}`, op })));
	const byRoute = new Map(operations.map(o => [o.route, o.op]));

	it("is a valid OpenAPI 3 document", async () => {
		// validate() dereferences in place: give it a copy.
		await expect(SwaggerParser.validate(JSON.parse(JSON.stringify(doc)))).resolves.toBeTruthy();
		expect((doc as unknown as { openapi: string }).openapi).toMatch(/^3\./);
	});

	it("has every gateway route with its method, and nothing else but the probes", () => {
		const routes = [
			...Object.entries(ROUTES).flatMap(([base, aliases]) => Object.keys(aliases).map(a => `${a.split(" ")[0]} ${base}/${a.split(" ")[1]}`)),
			...RAW_ROUTES,
		];
		expect(routes.length).toBeGreaterThan(30);
		for (const r of routes) expect(byRoute.has(r)).toBe(true);
		expect(operations.map(o => o.route).sort()).toEqual([...routes, "GET /live", "GET /ready", "GET /openapi.json"].sort());
		// Each routed operation names the action that answers it.
		for (const [base, aliases] of Object.entries(ROUTES)) {
			for (const [alias, action] of Object.entries(aliases)) expect(byRoute.get(`${alias.split(" ")[0]} ${base}/${alias.split(" ")[1]}`)["x-moleculer-action"]).toBe(action);
		}
	});

	it("takes the request bodies from the actions' rules: required fields, bounds, patterns", () => {
		const register = byRoute.get("POST /usercenter/v1/user/register").requestBody.content["application/json"];
		expect(register.schema.required).toEqual(["mobile", "password"]);
		expect(register.schema.properties.mobile).toMatchObject({ type: "string", pattern: "^\\d{11}$" });
		expect(register.schema.properties.password).toMatchObject({ type: "string", minLength: 1, maxLength: 64 });
		expect(register.example).toEqual({ mobile: "13800138000", password: "secret123" });
		const join = byRoute.get("POST /lottery/v1/lottery/participation").requestBody.content["application/json"].schema;
		expect(join.properties.lotteryId).toMatchObject({ type: "integer", minimum: 1 });
		const create = byRoute.get("POST /lottery/v1/lottery/createLottery").requestBody.content["application/json"].schema;
		expect(create.properties.prizes.type).toBe("array");
		expect(create.properties.prizes.items.properties.grantType).toMatchObject({ type: "integer", minimum: 1, maximum: 3 });
	});

	it("says which routes need a token, and shares the envelope and every error code", () => {
		expect(byRoute.get("POST /lottery/v1/lottery/participation").security).toEqual([{ bearerAuth: [] }]);
		expect(byRoute.get("POST /lottery/v1/lottery/participation").responses[401]).toEqual({ $ref: "#/components/responses/E401" });
		expect(byRoute.get("POST /usercenter/v1/user/login").security).toBeUndefined();
		expect(byRoute.get("POST /lottery/v1/lottery/lotteryDetail").security).toEqual([{ bearerAuth: [] }, {}]);
		expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
		const described = Object.values(doc.components.responses as Record<string, { description: string }>).map(r => r.description).join(" ");
		for (const e of Object.values(ErrorTable)) expect(described).toContain(String(e.code));
	});

	it.each(Object.keys(contract))("has every go-lottery route of %s with request fields its clients can keep sending", file => {
		// Checked against the Swagger files where they are (../shared/reference), and the fixture made from them.
		const swaggerFile = path.join(swaggerDir, file);
		const theirsByRoute: Record<string, Fields> = fs.existsSync(swaggerFile) ? swaggerRequestFields(JSON.parse(fs.readFileSync(swaggerFile, "utf8"))) : {};
		for (const route of (contract as Record<string, string[]>)[file]) {
			const theirs = (fs.existsSync(swaggerFile) ? theirsByRoute[route] : (requestFields as Record<string, Fields>)[route]) ?? {};
			if (fs.existsSync(swaggerFile)) expect((requestFields as Record<string, Fields>)[route]).toEqual(theirs);
			const op = byRoute.get(route);
			expect(op).toBeDefined();
			if (RAW_ROUTES.includes(route)) continue;
			const ours = flattenFields(op.requestBody?.content["application/json"].schema, () => undefined);
			const missing = Object.entries(theirs).filter(([field, type]) => {
				// A field inside one we take as anything (or as any object, with no fields named) is taken too.
				const open = (p: string) => ours[p] === "any" || (ours[p] === "object" && !Object.keys(ours).some(k => k.startsWith(`${p}.`)));
				const parents = field.split(".").map((_, i, parts) => parts.slice(0, i).join("."));
				return !compatible(type, ours[field]) && !parents.some(p => p && open(p));
			});
			expect({ route, missing }).toEqual({ route, missing: [] });
		}
	});

	it.each(Object.keys(contract))("answers every go-lottery route of %s with the fields its clients read", file => {
		// Checked against the Swagger files where they are, and the fixture made from them (kept equal to them).
		const swaggerFile = path.join(swaggerDir, file);
		const swagger = fs.existsSync(swaggerFile) ? JSON.parse(fs.readFileSync(swaggerFile, "utf8")) : null;
		const resolve = (ref: string) => swagger?.definitions?.[ref.split("/").pop()!];
		for (const route of (contract as Record<string, string[]>)[file]) {
			const [method, p] = route.split(" ");
			const fixture = (responseFields as Record<string, Fields>)[route];
			const theirs = swagger ? flattenFields(swagger.paths[p][method.toLowerCase()].responses?.["200"]?.schema, resolve) : fixture;
			expect(fixture).toEqual(theirs);
			if (RAW_ROUTES.includes(route)) continue;
			const schema = byRoute.get(route).responses[200].content["application/json"].schema;
			expect({ route, typed: !!schema.allOf }).toEqual({ route, typed: true });
			const ours = flattenFields(schema.allOf[1].properties.data, () => undefined);
			const missing = Object.entries(theirs).filter(([field, type]) => !compatible(type, ours[field]));
			expect({ route, missing }).toEqual({ route, missing: [] });
		}
	});

	it("is what doc/openapi.json holds (npm run openapi)", () => {
		const copy = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../doc/openapi.json"), "utf8"));
		expect(copy).toEqual(JSON.parse(JSON.stringify(doc)));
	});
});

describe("rules to schemas", () => {
	it("maps fastest-validator rules and shorthands", () => {
		expect(ruleToSchema("string|optional|max:10", "note")).toMatchObject({ type: "string", maxLength: 10 });
		expect(ruleToSchema({ type: "number", integer: true, positive: true, convert: true }, "id")).toMatchObject({ type: "integer", minimum: 1, example: 1 });
		expect(ruleToSchema({ type: "boolean" }, "all")).toMatchObject({ type: "boolean" });
		expect(ruleToSchema({ type: "enum", values: ["a", "b"] })).toMatchObject({ enum: ["a", "b"] });
		expect(ruleToSchema({ type: "array", items: "string", max: 3 })).toMatchObject({ type: "array", items: { type: "string" }, maxItems: 3 });
		expect(ruleToSchema({ type: "number", nullable: true })).toMatchObject({ type: "number", nullable: true });
		expect(objectSchema({ a: "string", b: { type: "string", optional: true }, c: { type: "number", default: 3 }, $$strict: true })).toEqual({
			type: "object",
			properties: { a: { type: "string", example: "text" }, b: { type: "string", example: "text" }, c: { type: "number", default: 3, example: 0 } },
			required: ["a"],
		});
	});
});
