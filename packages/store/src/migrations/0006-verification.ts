import { sql } from 'kysely';
import { float64, int64, keyText, type StoreMigration } from './migration.ts';

/**
 * Proof of GPU: every challenge sent to a device and its verdict (`verifications`), and
 * the devices suspended for a failed or forged answer (`device_suspensions`: kept for good,
 * so a restart or a reconnect never brings such a device back into supply).
 */
export const migration: StoreMigration = {
  async up(db, kind) {
    const key = keyText(kind);
    await db.schema
      .createTable('verifications')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('device_id', key, (c) => c.notNull())
      .addColumn('gpu_model', 'text', (c) => c.notNull())
      .addColumn('gpu_count', 'integer', (c) => c.notNull())
      .addColumn('n', 'integer', (c) => c.notNull())
      .addColumn('seed', 'text', (c) => c.notNull())
      .addColumn('issued_at_ms', int64, (c) => c.notNull())
      .addColumn('deadline_ms', int64, (c) => c.notNull())
      .addColumn('answered_at_ms', int64)
      .addColumn('elapsed_ms', float64)
      .addColumn('round_trip_ms', int64)
      .addColumn('limit_ms', float64)
      .addColumn('verdict', 'text', (c) => c.notNull().defaultTo('pending'))
      .addColumn('reason', 'text')
      .addColumn('detail', 'text')
      .addCheckConstraint('verifications_verdict_check', sql`verdict in ('pending', 'passed', 'failed', 'cancelled')`)
      .execute();
    await db.schema.createIndex('verifications_device_issued').on('verifications').columns(['device_id', 'issued_at_ms', 'id']).execute();
    await db.schema.createIndex('verifications_verdict').on('verifications').columns(['verdict', 'device_id']).execute();

    await db.schema
      .createTable('device_suspensions')
      .addColumn('device_id', key, (c) => c.primaryKey())
      .addColumn('verification_id', key, (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('at_ms', int64, (c) => c.notNull())
      .execute();
  },
};
