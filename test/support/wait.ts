/** Polls `check` every 100 ms until it holds, or fails naming `what` after `ms`. */
export async function waitFor(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
	const until = Date.now() + ms;
	while (Date.now() < until) {
		if (await check()) return;
		await new Promise(r => setTimeout(r, 100));
	}
	throw new Error(`timed out waiting for ${what}`);
}
