import type { QueryInterface } from "sequelize";
import { migration as users } from "./0001-users";
import { migration as lottery } from "./0002-lottery";
import { migration as draw } from "./0003-draw";
import { migration as outbox } from "./0004-outbox";

/** A schema step. `up` must produce the same schema on MySQL/MariaDB and SQLite. */
export interface Migration {
	name: string;
	up(qi: QueryInterface): Promise<void>;
	down(qi: QueryInterface): Promise<void>;
}

/** Every migration, in the order it is applied. Append only: a released migration never changes. */
export const migrations: Migration[] = [users, lottery, draw, outbox];
