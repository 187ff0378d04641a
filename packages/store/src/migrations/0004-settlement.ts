import { sql } from 'kysely';
import { float64, int64, keyText, type StoreMigration } from './migration.ts';

/**
 * Settlement books. A lease's escrow account (what deploy and extend reserved from the buyer's
 * balance, what settlement charged, the refund and the chain anchors); per node the watermark
 * up to which it is metered; the agents' signed usage reports (the cap on billing); settlement
 * batches and their meter records (the Merkle leaves); the ledger's idempotency entries; and,
 * per USDC deposit, the conversion that backs its IO credit on the chain.
 */
export const migration: StoreMigration = {
  async up(db, kind) {
    const key = keyText(kind);

    await db.schema
      .createTable('lease_accounts')
      .addColumn('lease_id', key, (c) => c.primaryKey().references('leases.id'))
      .addColumn('buyer', key, (c) => c.notNull())
      .addColumn('reserved_io', int64, (c) => c.notNull())
      .addColumn('charged_io', int64, (c) => c.notNull().defaultTo(0))
      .addColumn('terms_hash', 'text', (c) => c.notNull())
      .addColumn('open_anchor', 'text')
      .addColumn('close_anchor', 'text')
      .addColumn('refund_io', int64)
      .addColumn('refund_signature', 'text')
      .addColumn('closed_at_ms', int64)
      .addCheckConstraint('lease_accounts_amounts_check', sql`reserved_io >= 0 and charged_io >= 0 and charged_io <= reserved_io`)
      .execute();
    await db.schema.createIndex('lease_accounts_closed').on('lease_accounts').columns(['closed_at_ms', 'lease_id']).execute();

    await db.schema.alterTable('lease_nodes').addColumn('billed_until_ms', int64).execute();

    await db.schema
      .createTable('lease_usage')
      .addColumn('lease_id', key, (c) => c.notNull())
      .addColumn('device_id', key, (c) => c.notNull())
      .addColumn('reported_seconds', float64, (c) => c.notNull())
      .addColumn('at_ms', int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('lease_usage_pk', ['lease_id', 'device_id'])
      .execute();

    await db.schema
      .createTable('settlement_batches')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('cutoff_ms', int64, (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('merkle_root', 'text', (c) => c.notNull())
      .addColumn('memo', 'text', (c) => c.notNull())
      .addColumn('records', 'integer', (c) => c.notNull())
      .addColumn('gross_io', int64, (c) => c.notNull())
      .addColumn('fee_io', int64, (c) => c.notNull())
      .addColumn('burn_io', int64, (c) => c.notNull())
      .addColumn('treasury_io', int64, (c) => c.notNull())
      .addColumn('signatures', 'text')
      .addColumn('created_at_ms', int64, (c) => c.notNull())
      .addColumn('paid_at_ms', int64)
      .addCheckConstraint('settlement_batches_state_check', sql`state in ('pending', 'paid')`)
      .addCheckConstraint('settlement_batches_fee_check', sql`burn_io + treasury_io = fee_io and fee_io <= gross_io`)
      .execute();
    await db.schema.createIndex('settlement_batches_state').on('settlement_batches').columns(['state', 'id']).execute();

    await db.schema
      .createTable('meter_records')
      .addColumn('batch_id', key, (c) => c.notNull().references('settlement_batches.id'))
      .addColumn('idx', 'integer', (c) => c.notNull())
      .addColumn('lease_id', key, (c) => c.notNull())
      .addColumn('node_id', int64, (c) => c.notNull())
      .addColumn('device_id', key, (c) => c.notNull())
      .addColumn('payout', key, (c) => c.notNull())
      .addColumn('from_ms', int64, (c) => c.notNull())
      .addColumn('to_ms', int64, (c) => c.notNull())
      .addColumn('seconds', int64, (c) => c.notNull())
      .addColumn('slots', 'integer', (c) => c.notNull())
      .addColumn('price_per_gpu_hour', int64, (c) => c.notNull())
      .addColumn('gross_io', int64, (c) => c.notNull())
      .addColumn('fee_io', int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('meter_records_pk', ['batch_id', 'idx'])
      .addCheckConstraint('meter_records_amounts_check', sql`seconds > 0 and gross_io >= fee_io and fee_io >= 0 and to_ms > from_ms`)
      .execute();
    await db.schema.createIndex('meter_records_lease').on('meter_records').columns(['lease_id', 'batch_id', 'idx']).execute();

    await db.schema
      .createTable('chain_idempotency')
      .addColumn('key', key, (c) => c.primaryKey())
      .addColumn('entry', 'text', (c) => c.notNull())
      .execute();

    await db.schema.alterTable('deposits').addColumn('conversion_signature', 'text').execute();
  },
};
