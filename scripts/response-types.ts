import path from "node:path";
import ts from "typescript";

/**
 * The response schemas of the OpenAPI document, read from the code's types: for every action handler in
 * services/*.service.ts, the type its promise resolves to, as a JSON schema (what goes in the envelope's `data`).
 * Build-time only (it needs the TypeScript compiler): `npm run openapi` writes them into doc/openapi.json.
 */
type Schema = Record<string, unknown>;

const MAX_DEPTH = 8;

function toSchema(checker: ts.TypeChecker, type: ts.Type, at: ts.Node, depth = 0): Schema {
	if (depth > MAX_DEPTH) return {};
	if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return {};
	if (type.isUnion()) {
		const parts = type.types.filter(t => !(t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
		const nullable = parts.length < type.types.length;
		// true | false is boolean; "a" | "b" is an enum of strings; 0 | 1 of numbers.
		if (parts.every(t => t.flags & ts.TypeFlags.BooleanLiteral)) return { type: "boolean", ...(nullable ? { nullable } : {}) };
		if (parts.length && parts.every(t => t.isStringLiteral())) return { type: "string", enum: parts.map(t => (t as ts.StringLiteralType).value), ...(nullable ? { nullable } : {}) };
		if (parts.length && parts.every(t => t.isNumberLiteral())) return { type: "number", enum: parts.map(t => (t as ts.NumberLiteralType).value), ...(nullable ? { nullable } : {}) };
		const schemas = parts.map(t => toSchema(checker, t, at, depth + 1));
		const one = schemas.length === 1 ? schemas[0] : { oneOf: schemas };
		return nullable ? { ...one, nullable: true } : one;
	}
	if (type.flags & ts.TypeFlags.StringLike) return type.isStringLiteral() ? { type: "string", enum: [type.value] } : { type: "string" };
	if (type.flags & ts.TypeFlags.NumberLike) return type.isNumberLiteral() ? { type: "number", enum: [type.value] } : { type: "number" };
	if (type.flags & ts.TypeFlags.BooleanLike) return { type: "boolean" };
	if (type.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.Void)) return { nullable: true };
	if (checker.isArrayType(type) || checker.isTupleType(type)) {
		const [item] = checker.getTypeArguments(type as ts.TypeReference);
		return { type: "array", items: item ? toSchema(checker, item, at, depth + 1) : {} };
	}
	if (type.symbol?.name === "Date") return { type: "string", format: "date-time" };
	if (type.flags & ts.TypeFlags.Object) {
		const properties: Record<string, Schema> = {};
		const required: string[] = [];
		for (const prop of checker.getPropertiesOfType(type)) {
			const propType = checker.getTypeOfSymbolAtLocation(prop, at);
			if (propType.getCallSignatures().length) continue;
			properties[prop.name] = toSchema(checker, propType, at, depth + 1);
			if (!(prop.flags & ts.SymbolFlags.Optional)) required.push(prop.name);
		}
		const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
		return {
			type: "object",
			properties,
			...(required.length ? { required } : {}),
			...(index ? { additionalProperties: toSchema(checker, index.type, at, depth + 1) } : {}),
		};
	}
	return {};
}

/** `"lottery.createLottery"` → the schema of what its handler resolves to, for every handler of every service file. */
export function responseSchemas(root = path.resolve(__dirname, "..")): Map<string, Schema> {
	const configFile = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile);
	const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
	const files = parsed.fileNames.filter(f => /services[\\/][^\\/]+\.service\.ts$/.test(f));
	const program = ts.createProgram(files, parsed.options);
	const checker = program.getTypeChecker();
	const out = new Map<string, Schema>();

	for (const file of files) {
		const source = program.getSourceFile(file)!;
		const visit = (node: ts.Node): void => {
			// A service schema: an object literal with `name: "<service>"` and `actions: { … }`.
			if (ts.isObjectLiteralExpression(node)) {
				const prop = (name: string) => node.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === name);
				const name = prop("name");
				const actions = prop("actions");
				if (name && ts.isStringLiteral(name.initializer) && actions && ts.isObjectLiteralExpression(actions.initializer)) {
					for (const action of actions.initializer.properties) {
						if (!action.name || !ts.isIdentifier(action.name) || !ts.isPropertyAssignment(action) || !ts.isObjectLiteralExpression(action.initializer)) continue;
						const handler = action.initializer.properties.find(p => p.name && ts.isIdentifier(p.name) && p.name.text === "handler");
						if (!handler || !(ts.isMethodDeclaration(handler) || ts.isPropertyAssignment(handler))) continue;
						const fn = ts.isMethodDeclaration(handler) ? handler : handler.initializer;
						const signature = checker.getSignaturesOfType(checker.getTypeAtLocation(fn), ts.SignatureKind.Call)[0];
						if (!signature) continue;
						const resolved = checker.getAwaitedType(checker.getReturnTypeOfSignature(signature)) ?? checker.getReturnTypeOfSignature(signature);
						out.set(`${name.initializer.text}.${action.name.text}`, toSchema(checker, resolved, fn));
					}
				}
			}
			ts.forEachChild(node, visit);
		};
		visit(source);
	}
	return out;
}
