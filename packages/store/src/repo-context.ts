import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

export type StoreKind = 'sqlite' | 'postgres';

/** What every repository is built from: a Kysely handle (maybe a transaction) and the dialect. */
export interface RepoContext {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  /** True when `db` is a transaction opened by `store.transaction`. */
  readonly inTransaction: boolean;
}

/** Runs `fn` in a transaction: the caller's one if there is one, else a new one. */
export async function inTransaction<T>(ctx: RepoContext, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  if (ctx.inTransaction) return fn(ctx.db);
  return ctx.db.transaction().execute((trx: Transaction<Database>) => fn(trx));
}
