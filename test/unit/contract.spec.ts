import fs from "node:fs";
import path from "node:path";
import { RAW_ROUTES, ROUTES } from "../../services/api.service";
import contract from "../fixtures/go-lottery-routes.json";

// go-lottery's Swagger files live beside the repository (../shared/reference), or where GO_LOTTERY_SWAGGER_DIR
// says. test/fixtures/go-lottery-routes.json is the list of their routes, so that a clone without them still
// checks the contract; where the files are present, the list is checked against them.
const swaggerDir = process.env.GO_LOTTERY_SWAGGER_DIR ?? path.resolve(__dirname, "../../../shared/reference/go-lottery-swagger");

describe("go-lottery's HTTP contract", () => {
	const published = new Set([
		...Object.entries(ROUTES).flatMap(([base, aliases]) => Object.keys(aliases).map(a => {
			const [method, p] = a.split(" ");
			return `${method} ${base}/${p}`;
		})),
		...RAW_ROUTES,
	]);

	it.each(Object.keys(contract))("every route of %s is a gateway route with its method", file => {
		const routes = (contract as Record<string, string[]>)[file];
		expect(routes.length).toBeGreaterThan(0);
		for (const route of routes) expect(published).toContain(route);

		const swaggerFile = path.join(swaggerDir, file);
		if (fs.existsSync(swaggerFile)) {
			const swagger = JSON.parse(fs.readFileSync(swaggerFile, "utf8")) as { paths: Record<string, Record<string, unknown>> };
			const fromSwagger = Object.entries(swagger.paths).flatMap(([p, methods]) => Object.keys(methods).map(m => `${m.toUpperCase()} ${p}`)).sort();
			expect(routes).toEqual(fromSwagger);
		}
	});
});
