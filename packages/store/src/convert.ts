import type { DbInt } from './schema.ts';

/** An integer from the database as a JS number; refuses values a number cannot hold exactly. */
export function toNumber(value: DbInt): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`integer ${String(value)} is not a safe JS number`);
  return n;
}

export function toNumberOrNull(value: DbInt | null): number | null {
  return value === null ? null : toNumber(value);
}

/** An integer from the database as an exact bigint. */
export function toBigint(value: DbInt): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`integer ${value} lost precision in the driver`);
    return BigInt(value);
  }
  return BigInt(value);
}

/** Checks a timestamp or count before it is written, so junk fails here and not in SQL. */
export function assertInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be a safe integer, got ${value}`);
  return value;
}
