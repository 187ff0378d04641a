import { sql } from 'kysely';
import { int64, keyText, type StoreMigration } from './migration.ts';

/**
 * Withdrawals of unreserved escrow back to the buyer's wallet: recorded (and the balance
 * debited) before the transfer is sent; the signature is filled in once it landed.
 */
export const migration: StoreMigration = {
  async up(db, kind) {
    const key = keyText(kind);
    await db.schema
      .createTable('withdrawals')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('wallet', key, (c) => c.notNull())
      .addColumn('amount_io', int64, (c) => c.notNull())
      .addColumn('signature', 'text')
      .addColumn('at_ms', int64, (c) => c.notNull())
      .addCheckConstraint('withdrawals_amount_check', sql`amount_io > 0`)
      .execute();
    await db.schema.createIndex('withdrawals_wallet_at').on('withdrawals').columns(['wallet', 'at_ms', 'id']).execute();
  },
};
