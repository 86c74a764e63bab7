import fs from "node:fs";
import path from "node:path";

/**
 * A file or folder of the project that the build does not compile (public/, doc/): beside lib/ when run from
 * source, one level further up when run from dist/.
 */
export function projectPath(...parts: string[]): string {
	const candidates = [path.resolve(__dirname, "..", ...parts), path.resolve(__dirname, "../..", ...parts)];
	return candidates.find(p => fs.existsSync(p)) ?? candidates[0];
}
