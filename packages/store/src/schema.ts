import type { ColumnType, Generated } from 'kysely';

/**
 * The Kysely view of the database. Column names are snake_case as in SQL; repositories
 * map rows to camelCase records. Add a table here when a migration adds it.
 */

/**
 * What the drivers hand back for an integer column: SQLite (opened with safe integers)
 * gives bigint, PostgreSQL gives a string for BIGINT and a number for INTEGER. Repositories
 * convert with `toNumber`/`toBigint` from convert.ts, so no precision is lost.
 */
export type DbInt = bigint | number | string;
/** An integer column (timestamps in ms, counts, money in base units). */
export type IntColumn = ColumnType<DbInt, bigint | number, bigint | number>;
export type NullableIntColumn = ColumnType<DbInt | null, bigint | number | null, bigint | number | null>;
/** An integer column with a default value in the table definition. */
export type DefaultedIntColumn = ColumnType<DbInt, bigint | number | undefined, bigint | number>;
/** A double precision column. */
export type FloatColumn = ColumnType<number | null, number | null, number | null>;
/** An auto-increment id: INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, BIGSERIAL on PostgreSQL. */
export type SerialColumn = Generated<DbInt>;

export interface DevicesTable {
  id: string;
  /** JSON text: the hardware report as the agent sent it. */
  hardware: string;
  gpu_model: string;
  gpu_count: IntColumn;
  region: string;
  /** MicroUsd per GPU-hour. */
  price_per_gpu_hour: IntColumn;
  payout: string;
  agent_version: string;
  /** 'online' | 'offline' */
  status: string;
  first_seen_ms: IntColumn;
  last_seen_ms: IntColumn;
  /** Start of the current (or last) connection. */
  connected_at_ms: NullableIntColumn;
  /** When the device was last marked offline. */
  disconnected_at_ms: NullableIntColumn;
  /** Milliseconds online, accumulated whenever a connection ends. */
  online_ms_total: DefaultedIntColumn;
  coord_x: FloatColumn;
  coord_y: FloatColumn;
  coord_h: FloatColumn;
  /** JSON text: the load the last heartbeat reported. */
  load: string | null;
  /** 0 or 1 (an integer in both dialects, so SQL reads the same). */
  verified: DefaultedIntColumn;
  tier: ColumnType<string, string | undefined, string>;
  reputation: DefaultedIntColumn;
}

export interface ApiKeysTable {
  id: string;
  wallet: string;
  key_hash: string;
  label: string | null;
  created_at_ms: IntColumn;
  last_used_at_ms: NullableIntColumn;
  revoked_at_ms: NullableIntColumn;
}

export interface AuthChallengesTable {
  nonce: string;
  wallet: string;
  expires_at_ms: IntColumn;
}

export interface EventsTable {
  seq: SerialColumn;
  kind: string;
  subject: string;
  /** JSON text. */
  data: string;
  at_ms: IntColumn;
}

export interface Database {
  devices: DevicesTable;
  api_keys: ApiKeysTable;
  auth_challenges: AuthChallengesTable;
  events: EventsTable;
}
