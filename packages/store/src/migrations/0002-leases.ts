import { sql } from 'kysely';
import { int64, keyText, serialType, type StoreMigration } from './migration.ts';

/**
 * Leases (one Ray cluster a buyer booked) and their nodes (one row per device that gives
 * slots to a lease, kept after the node ends so billing and audit can read it).
 * State lists are spelled out here, not imported: a released migration never changes.
 */
export const migration: StoreMigration = {
  async up(db, kind) {
    const key = keyText(kind);

    await db.schema
      .createTable('leases')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('buyer', key, (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('gpu_model', 'text', (c) => c.notNull())
      .addColumn('slots', 'integer', (c) => c.notNull())
      .addColumn('topology', 'text', (c) => c.notNull())
      .addColumn('request', 'text', (c) => c.notNull())
      .addColumn('price_per_hour', int64, (c) => c.notNull())
      .addColumn('ray_token', 'text', (c) => c.notNull())
      .addColumn('head_device_id', key)
      .addColumn('created_at_ms', int64, (c) => c.notNull())
      .addColumn('ready_at_ms', int64)
      .addColumn('expires_at_ms', int64, (c) => c.notNull())
      .addColumn('ended_at_ms', int64)
      .addColumn('failure_reason', 'text')
      .addColumn('notices', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addCheckConstraint(
        'leases_state_check',
        sql`state in ('requested', 'allocating', 'provisioning', 'ready', 'degraded', 'releasing', 'ended', 'failed')`,
      )
      .addCheckConstraint('leases_topology_check', sql`topology in ('tight', 'spread')`)
      .addCheckConstraint('leases_slots_check', sql`slots > 0`)
      .addCheckConstraint('leases_price_check', sql`price_per_hour >= 0`)
      .addCheckConstraint('leases_version_check', sql`version >= 1`)
      .execute();
    // A buyer's leases page by id; the control plane loads the active ones on start.
    await db.schema.createIndex('leases_buyer_id').on('leases').columns(['buyer', 'id']).execute();
    await db.schema.createIndex('leases_state_id').on('leases').columns(['state', 'id']).execute();

    await db.schema
      .createTable('lease_nodes')
      .addColumn('id', serialType(kind), (c) => (kind === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
      .addColumn('lease_id', key, (c) => c.notNull().references('leases.id'))
      .addColumn('device_id', key, (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('slots', 'integer', (c) => c.notNull())
      .addColumn('price_per_gpu_hour', int64, (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('ray_node_id', 'text')
      .addColumn('endpoint', 'text')
      .addColumn('assigned_at_ms', int64, (c) => c.notNull())
      .addColumn('joined_at_ms', int64)
      .addColumn('last_seen_ms', int64)
      .addColumn('ended_at_ms', int64)
      .addColumn('end_reason', 'text')
      .addCheckConstraint('lease_nodes_role_check', sql`role in ('head', 'worker')`)
      .addCheckConstraint(
        'lease_nodes_state_check',
        sql`state in ('assigned', 'starting', 'joined', 'lost', 'released', 'failed')`,
      )
      .addCheckConstraint('lease_nodes_slots_check', sql`slots > 0`)
      .addCheckConstraint('lease_nodes_price_check', sql`price_per_gpu_hour >= 0`)
      .execute();
    if (kind === 'postgres') {
      // Heartbeats rewrite last_seen_ms of every active node every few seconds (see devices).
      await sql`alter table lease_nodes set (fillfactor = 70)`.execute(db);
    }
    await db.schema.createIndex('lease_nodes_lease_id').on('lease_nodes').columns(['lease_id', 'id']).execute();
    await db.schema.createIndex('lease_nodes_device_state').on('lease_nodes').columns(['device_id', 'state']).execute();
    // A device has at most one active node per lease (it gives that node all its slots).
    await db.schema
      .createIndex('lease_nodes_active_device')
      .unique()
      .on('lease_nodes')
      .columns(['lease_id', 'device_id'])
      .where(sql<boolean>`state in ('assigned', 'starting', 'joined')`)
      .execute();
  },
};
