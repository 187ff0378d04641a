import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { StoreKind } from '../repo-context.ts';

/**
 * One schema step. `up` gets the dialect so that one module serves both: use the column
 * helpers below for anything the dialects spell differently. Migrations never change
 * once released; add a new NNNN-name.ts and list it in migrations/index.ts.
 */
export interface StoreMigration {
  up(db: Kysely<unknown>, kind: StoreKind): Promise<void>;
}

/**
 * Text keys (ids, addresses) compare bytewise in both dialects: SQLite's default BINARY
 * collation, PostgreSQL's "C" collation. Keyset pagination then orders the same everywhere.
 */
export function keyText(kind: StoreKind): RawBuilder<unknown> {
  return kind === 'postgres' ? sql`text collate "C"` : sql`text`;
}

/** 64-bit integer (timestamps in ms, money in base units, counters): BIGINT / INTEGER affinity. */
export const int64 = 'bigint';
/** IEEE double. */
export const float64 = 'double precision';

/** An ever-increasing 64-bit key: BIGSERIAL on PostgreSQL, INTEGER PRIMARY KEY AUTOINCREMENT on SQLite. */
export function serialType(kind: StoreKind): 'bigserial' | 'integer' {
  return kind === 'postgres' ? 'bigserial' : 'integer';
}
