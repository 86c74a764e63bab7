/**
 * A request schema flattened to its fields and their JSON types: `prizes[].name` → `string`. Works for
 * go-lottery's Swagger 2 definitions and for our OpenAPI 3 document alike, so the two can be compared.
 */
export type Fields = Record<string, string>;

interface Schema {
	$ref?: string;
	type?: string;
	properties?: Record<string, Schema>;
	items?: Schema;
	allOf?: Schema[];
}

export function flattenFields(schema: Schema | undefined, resolve: (ref: string) => Schema | undefined, prefix = "", out: Fields = {}, depth = 0): Fields {
	if (!schema) return out;
	if (schema.$ref) return flattenFields(resolve(schema.$ref) ?? {}, resolve, prefix, out, depth);
	const type = schema.type ?? (schema.properties ? "object" : "any");
	if (prefix) out[prefix] = type;
	if (depth > 6) return out;
	if (type === "object") for (const [k, v] of Object.entries(schema.properties ?? {})) flattenFields(v, resolve, prefix ? `${prefix}.${k}` : k, out, depth + 1);
	if (type === "array" && schema.items) flattenFields(schema.items, resolve, `${prefix}[]`, out, depth + 1);
	return out;
}

/** go-lottery's request fields per route (`POST /lottery/v1/lottery/createLottery`), from one Swagger 2 file. */
export function swaggerRequestFields(swagger: { paths: Record<string, Record<string, { parameters?: Array<{ in: string; schema?: Schema }> }>>; definitions?: Record<string, Schema> }): Record<string, Fields> {
	const resolve = (ref: string) => swagger.definitions?.[ref.split("/").pop()!];
	const out: Record<string, Fields> = {};
	for (const [p, methods] of Object.entries(swagger.paths)) {
		for (const [m, op] of Object.entries(methods)) {
			const body = (op.parameters ?? []).find(x => x.in === "body");
			out[`${m.toUpperCase()} ${p}`] = body ? flattenFields(body.schema, resolve) : {};
		}
	}
	return out;
}

/** Whether a field of ours takes what go-lottery's clients send in theirs. */
export function compatible(theirs: string, ours: string | undefined): boolean {
	if (ours === undefined) return false;
	if (ours === "any") return true;
	if (theirs === "integer" || theirs === "number") return ours === "integer" || ours === "number";
	return theirs === ours;
}
