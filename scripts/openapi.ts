import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../lib/config";
import { openApiDocument, OPENAPI_FILE } from "../lib/node";
import { responseSchemas } from "./response-types";

/**
 * `npm run openapi`: writes the gateway's OpenAPI document (the one GET /openapi.json serves) to doc/openapi.json,
 * with each answer's schema read from its handler's type (scripts/response-types.ts).
 * `npm run openapi -- --check` exits 1 if the copy in doc/ is not what the code generates.
 */
const target = OPENAPI_FILE;
const text = `${JSON.stringify(openApiDocument(loadConfig({}), responseSchemas()), null, 2)}\n`;
if (process.argv.includes("--check")) {
	const current = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : "";
	if (current !== text) {
		console.error("doc/openapi.json is out of date: run `npm run openapi`");
		process.exit(1);
	}
	console.log("doc/openapi.json is up to date");
} else {
	fs.writeFileSync(target, text);
	console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
