import fs from "node:fs";
import path from "node:path";
import { ROUTES } from "../../services/api.service";

// go-lottery's Swagger files live beside the repository (../shared/reference), or where GO_LOTTERY_SWAGGER_DIR says.
const swaggerDir = process.env.GO_LOTTERY_SWAGGER_DIR ?? path.resolve(__dirname, "../../../shared/reference/go-lottery-swagger");

describe("go-lottery's HTTP contract", () => {
	const published = new Set(Object.entries(ROUTES).flatMap(([base, aliases]) => Object.keys(aliases).map(a => {
		const [method, p] = a.split(" ");
		return `${method} ${base}/${p}`;
	})));

	it.each(["usercenter.json", "lottery.json"])("every path of %s is a gateway route with its method", file => {
		const swagger = JSON.parse(fs.readFileSync(path.join(swaggerDir, file), "utf8")) as { paths: Record<string, Record<string, unknown>> };
		for (const [p, methods] of Object.entries(swagger.paths)) {
			for (const method of Object.keys(methods)) {
				const route = `${method.toUpperCase()} ${p}`;
				expect(published).toContain(route);
			}
		}
	});
});
