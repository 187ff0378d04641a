import { sql } from 'kysely';
import { int64, keyText, type StoreMigration } from './migration.ts';

/**
 * Reward epochs. One row per epoch: 'open' while it runs, 'closed' once its emission and
 * rewards are recorded (one transaction, before anything is minted), 'minted' once the mint
 * transactions landed. Per device and epoch the reward and the figures it came from; per
 * device the reputation state carried from epoch to epoch (uptime EWMA and the online-time
 * mark the next epoch's uptime is measured from).
 */
export const migration: StoreMigration = {
  async up(db, kind) {
    const key = keyText(kind);

    await db.schema
      .createTable('epochs')
      .addColumn('idx', int64, (c) => c.primaryKey())
      .addColumn('start_ms', int64, (c) => c.notNull())
      .addColumn('end_ms', int64, (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('served_gpu_seconds', int64, (c) => c.notNull().defaultTo(0))
      .addColumn('available_gpu_seconds', int64, (c) => c.notNull().defaultTo(0))
      .addColumn('utilization_bps', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('emission_io', int64, (c) => c.notNull().defaultTo(0))
      .addColumn('stipend_pool_io', int64, (c) => c.notNull().defaultTo(0))
      .addColumn('usage_pool_io', int64, (c) => c.notNull().defaultTo(0))
      .addColumn('treasury_io', int64, (c) => c.notNull().defaultTo(0))
      .addColumn('params', 'text')
      .addColumn('merkle_root', 'text')
      .addColumn('memo', 'text')
      .addColumn('signatures', 'text')
      .addColumn('closed_at_ms', int64)
      .addColumn('minted_at_ms', int64)
      .addCheckConstraint('epochs_state_check', sql`state in ('open', 'closed', 'minted')`)
      .addCheckConstraint('epochs_split_check', sql`stipend_pool_io + usage_pool_io = emission_io and end_ms > start_ms`)
      .execute();
    await db.schema.createIndex('epochs_state').on('epochs').columns(['state', 'idx']).execute();

    await db.schema
      .createTable('epoch_rewards')
      .addColumn('epoch_idx', int64, (c) => c.notNull())
      .addColumn('device_id', key, (c) => c.notNull())
      .addColumn('idx', 'integer', (c) => c.notNull())
      .addColumn('payout', key, (c) => c.notNull())
      .addColumn('gpu_model', 'text', (c) => c.notNull())
      .addColumn('gpus', 'integer', (c) => c.notNull())
      .addColumn('verified', 'integer', (c) => c.notNull())
      .addColumn('stake_io', int64, (c) => c.notNull())
      .addColumn('uptime_seconds', int64, (c) => c.notNull())
      .addColumn('served_gpu_seconds', int64, (c) => c.notNull())
      .addColumn('tier', 'text', (c) => c.notNull())
      .addColumn('stipend_io', int64, (c) => c.notNull())
      .addColumn('bonus_io', int64, (c) => c.notNull())
      .addColumn('ineligible', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('epoch_rewards_pk', ['epoch_idx', 'device_id'])
      .addCheckConstraint('epoch_rewards_amounts_check', sql`stipend_io >= 0 and bonus_io >= 0`)
      .execute();
    await db.schema.createIndex('epoch_rewards_device').on('epoch_rewards').columns(['device_id', 'epoch_idx']).execute();

    await db.schema
      .createTable('device_reputation')
      .addColumn('device_id', key, (c) => c.primaryKey())
      .addColumn('online_ms_mark', int64, (c) => c.notNull())
      .addColumn('uptime_ewma_ppm', 'integer', (c) => c.notNull())
      .addColumn('epochs_observed', 'integer', (c) => c.notNull())
      .addColumn('updated_epoch', int64, (c) => c.notNull())
      .execute();
  },
};
