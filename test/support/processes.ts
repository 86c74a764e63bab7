import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";

const root = path.resolve(__dirname, "../..");

/** A free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> => new Promise(resolve => {
	const srv = net.createServer().listen(0, "127.0.0.1", () => {
		const port = (srv.address() as net.AddressInfo).port;
		srv.close(() => resolve(port));
	});
});

/** A node process (server.ts) with the given environment on top of the test's own. */
export function spawnNode(env: Record<string, string>): ChildProcess {
	return spawn(process.execPath, ["--import", "tsx", path.join(root, "server.ts")], { env: { ...process.env, ...env }, stdio: "ignore" });
}
