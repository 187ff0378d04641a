import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, sql, SqliteDialect } from 'kysely';
import pg from 'pg';
import { toStoreError } from './errors.ts';
import { migrationProvider } from './migrations/index.ts';
import type { StoreKind } from './repo-context.ts';
import type { Database } from './schema.ts';
import { createStore, type Store } from './store.ts';

export type OpenStoreOptions =
  | {
      kind: 'sqlite';
      /** A file (its directory is created) or ':memory:'. */
      path: string;
      /** How long a writer waits for a lock held by another connection (default 5000). */
      busyTimeoutMs?: number;
    }
  | {
      kind: 'postgres';
      /** postgres://user:password@host:port/database (libpq-style query options work, e.g. options=-c search_path=x). */
      url: string;
      /** Pool size (default 10). */
      maxConnections?: number;
    };

/** Opens the database, brings its schema up to date and returns the store. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const { db, sqlite } =
    options.kind === 'sqlite' ? openSqlite(options.path, options.busyTimeoutMs ?? 5000) : { db: openPostgres(options), sqlite: null };
  try {
    await migrate(db, options.kind);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw toStoreError(`open ${options.kind}`, error);
  }
  return createStore({ db, kind: options.kind, inTransaction: false, sqlite });
}

/** Opens and configures a SQLite database (internal; exported for tests). */
export function openSqlite(path: string, busyTimeoutMs: number): { db: Kysely<Database>; sqlite: BetterSqlite3.Database } {
  let database: BetterSqlite3.Database;
  try {
    if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true });
    database = new BetterSqlite3(path);
    database.pragma('journal_mode = WAL'); // stays 'memory' for ':memory:'
    database.pragma('synchronous = NORMAL'); // durable across crashes in WAL mode; fsync at checkpoints
    database.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    database.pragma('foreign_keys = ON');
    // Integers come back as bigint, so money and other 64-bit values keep every digit.
    database.defaultSafeIntegers(true);
  } catch (error) {
    throw toStoreError(`open sqlite ${path}`, error);
  }
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), sqlite: database };
}

function openPostgres(options: { url: string; maxConnections?: number }): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
  // An idle client losing its connection must not crash the process; the next query
  // checks out a fresh client or fails with a STORE_ERROR.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

async function migrate(db: Kysely<Database>, kind: StoreKind): Promise<void> {
  // On PostgreSQL keep Kysely's bookkeeping tables in the schema the tables go to (the
  // first of search_path); otherwise a kysely_migration table in another schema of the
  // same database would be mistaken for ours.
  let migrationTableSchema: string | undefined;
  if (kind === 'postgres') {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    const schema = rows[0]?.schema ?? null;
    if (schema === null) throw new Error('no schema to create tables in: check search_path');
    migrationTableSchema = schema;
  }
  const migrator = new Migrator({ db, provider: migrationProvider(kind), migrationTableSchema });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw toStoreError(failed === undefined ? 'migrate' : `migrate ${failed}`, error);
  }
}
