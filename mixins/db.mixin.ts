import type { ServiceSchema } from "moleculer";
import DbService from "moleculer-db";
import SequelizeAdapter from "moleculer-db-adapter-sequelize";
import type { Sequelize } from "sequelize";
import type { Config } from "../lib/config";
import { acquireDatabase, releaseDatabase } from "../lib/database";
import { defineModels, type Models } from "../models";

/**
 * moleculer-db's Sequelize adapter, on the node's one shared connection (lib/database.ts) instead of a
 * connection per service, with the schema from migrations instead of `sync()`.
 */
class SharedSequelizeAdapter extends SequelizeAdapter {
	declare db: Sequelize;
	declare model: unknown;
	declare service: import("moleculer").Service & { model: unknown; models: Models };

	constructor(private readonly config: Config, private readonly modelName: keyof Models) {
		super({});
	}

	override async connect(): Promise<void> {
		const log = this.service.logger;
		this.db = await acquireDatabase(this.config, msg => log.info(msg));
		const models = defineModels(this.db);
		this.model = models[this.modelName];
		this.service.model = this.model;
		this.service.models = models;
	}

	override async disconnect(): Promise<void> {
		if (this.db) await releaseDatabase(this.db);
	}
}

export interface DbServiceThis {
	models: Models;
	adapter: { db: Sequelize };
}

/** DB-backed service: `this.models` holds every model, `this.adapter.db` the Sequelize instance. */
export function DbMixin(config: Config, modelName: keyof Models): Partial<ServiceSchema> {
	return {
		mixins: [DbService as unknown as ServiceSchema],
		adapter: new SharedSequelizeAdapter(config, modelName),
		// moleculer-db insists on a `model`; the real one is bound on connect, from models/.
		model: { name: modelName },
		settings: { idField: "id" },
		// moleculer-db's generic CRUD actions stay off: every action a service offers is written and checked by hand.
		actions: {
			find: false, count: false, list: false, create: false, insert: false, get: false, update: false, remove: false,
		} as unknown as ServiceSchema["actions"],
	};
}

/** The connected DBs of this process, for /ready. */
export async function pingDatabase(sequelize: Sequelize): Promise<void> {
	await sequelize.query("SELECT 1");
}
