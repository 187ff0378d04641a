import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

export type StoreKind = 'sqlite' | 'postgres';

/** What every repository is built from: a Kysely handle (maybe a transaction) and the dialect. */
export interface RepoContext {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  /** True when `db` is a transaction opened by `store.transaction`. */
  readonly inTransaction: boolean;
  /** SQLite only: the raw connection under `db`, for hot paths (see withRawSqlite). */
  readonly sqlite: BetterSqlite3.Database | null;
}

/** Runs `fn` in a transaction: the caller's one if there is one, else a new one. */
export async function inTransaction<T>(ctx: RepoContext, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  if (ctx.inTransaction) return fn(ctx.db);
  return ctx.db.transaction().execute((trx: Transaction<Database>) => fn(trx));
}

/**
 * SQLite hot paths: runs synchronous better-sqlite3 work on the store's one connection,
 * inside one transaction (a savepoint within the caller's). Outside store.transaction it
 * holds Kysely's connection lock, so it never interleaves with another transaction.
 */
export async function withRawSqlite<T>(ctx: RepoContext, fn: (raw: BetterSqlite3.Database) => T): Promise<T> {
  const raw = ctx.sqlite;
  if (raw === null) throw new Error('withRawSqlite needs a SQLite store');
  const run = (): T => raw.transaction(() => fn(raw))();
  if (ctx.inTransaction) return run();
  return ctx.db.connection().execute(() => Promise.resolve(run()));
}
