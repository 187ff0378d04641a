import { sql } from 'kysely';
import { int64, keyText, type StoreMigration } from './migration.ts';

/**
 * Buyers' escrow books: one balance per wallet (IO base units; the tokens themselves sit in
 * the protocol's custodial escrow account on the chain) and every deposit credited to it,
 * keyed by its transaction signature so that a replayed deposit never credits twice.
 */
export const migration: StoreMigration = {
  async up(db, kind) {
    const key = keyText(kind);

    await db.schema
      .createTable('wallet_balances')
      .addColumn('wallet', key, (c) => c.primaryKey())
      .addColumn('escrow_io', int64, (c) => c.notNull())
      .addColumn('updated_at_ms', int64, (c) => c.notNull())
      .addCheckConstraint('wallet_balances_escrow_check', sql`escrow_io >= 0`)
      .execute();

    await db.schema
      .createTable('deposits')
      .addColumn('signature', key, (c) => c.primaryKey())
      .addColumn('wallet', key, (c) => c.notNull())
      .addColumn('token', 'text', (c) => c.notNull())
      .addColumn('amount_paid', int64, (c) => c.notNull())
      .addColumn('io_credited', int64, (c) => c.notNull())
      .addColumn('fee', int64, (c) => c.notNull())
      .addColumn('at_ms', int64, (c) => c.notNull())
      .addCheckConstraint('deposits_token_check', sql`token in ('IO', 'USDC')`)
      .addCheckConstraint('deposits_amounts_check', sql`amount_paid > 0 and io_credited >= 0 and fee >= 0`)
      .execute();
    await db.schema.createIndex('deposits_wallet_at').on('deposits').columns(['wallet', 'at_ms', 'signature']).execute();
  },
};
