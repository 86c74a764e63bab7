import "moleculer";

declare module "moleculer" {
	interface ActionSchema {
		/**
		 * Gateway access: "required" → 401 without a valid token; "optional" → the caller is known when a
		 * valid token is sent. Actions without it are not reachable through the gateway's authenticated routes.
		 */
		auth?: "required" | "optional";
	}
}
