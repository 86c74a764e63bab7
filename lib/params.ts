/**
 * Parameter rules (fastest-validator) that every service's actions use. Numbers may arrive as JSON strings
 * (`"7"`), as go-zero accepted, hence `convert`.
 */
export const id = { type: "number", integer: true, positive: true, convert: true } as const;

export const optInt = (min: number, max: number) => ({ type: "number", integer: true, min, max, convert: true, optional: true }) as const;

export const optStr = (max: number) => ({ type: "string", max, optional: true }) as const;
