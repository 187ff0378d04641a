import { sql } from 'kysely';
import { int64, keyText, serialType, type StoreMigration } from './migration.ts';

/**
 * Staking and governance. Per device its active stake and the wallet that staked it; stake
 * movements (adds with their deposit signature, unstake requests with their cooldown and
 * payout); slashes (recorded before they are paid from the stake vault); governance
 * proposals with the stake snapshot taken when they were made, signed votes with their chain
 * anchor, and the applied history of parameter changes.
 */
export const migration: StoreMigration = {
  async up(db, kind) {
    const key = keyText(kind);

    await db.schema
      .createTable('stakes')
      .addColumn('device_id', key, (c) => c.primaryKey())
      .addColumn('staker', key, (c) => c.notNull())
      .addColumn('amount_io', int64, (c) => c.notNull())
      .addColumn('updated_at_ms', int64, (c) => c.notNull())
      .addCheckConstraint('stakes_amount_check', sql`amount_io >= 0`)
      .execute();
    await db.schema.createIndex('stakes_staker').on('stakes').columns(['staker', 'device_id']).execute();

    await db.schema
      .createTable('stake_movements')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('device_id', key, (c) => c.notNull())
      .addColumn('staker', key, (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('amount_io', int64, (c) => c.notNull())
      .addColumn('deposit_signature', key, (c) => c.unique())
      .addColumn('requested_at_ms', int64, (c) => c.notNull())
      .addColumn('available_at_ms', int64)
      .addColumn('payout_signature', 'text')
      .addCheckConstraint('stake_movements_kind_check', sql`kind in ('add', 'unstake')`)
      .addCheckConstraint('stake_movements_amount_check', sql`amount_io >= 0`)
      .addCheckConstraint('stake_movements_shape_check', sql`(kind = 'add' and deposit_signature is not null) or (kind = 'unstake' and available_at_ms is not null)`)
      .execute();
    await db.schema.createIndex('stake_movements_device').on('stake_movements').columns(['device_id', 'requested_at_ms', 'id']).execute();
    await db.schema.createIndex('stake_movements_due').on('stake_movements').columns(['kind', 'payout_signature', 'available_at_ms']).execute();

    await db.schema
      .createTable('stake_slashes')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('device_id', key, (c) => c.notNull())
      .addColumn('staker', key, (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('bps', 'integer', (c) => c.notNull())
      .addColumn('stake_io', int64, (c) => c.notNull())
      .addColumn('amount_io', int64, (c) => c.notNull())
      .addColumn('buyer', key)
      .addColumn('buyer_io', int64, (c) => c.notNull())
      .addColumn('burned_io', int64, (c) => c.notNull())
      .addColumn('lease_id', key)
      .addColumn('verification_id', key)
      .addColumn('at_ms', int64, (c) => c.notNull())
      .addColumn('signatures', 'text')
      .addColumn('paid_at_ms', int64)
      .addCheckConstraint('stake_slashes_reason_check', sql`reason in ('fraud', 'abandon')`)
      .addCheckConstraint('stake_slashes_amount_check', sql`buyer_io >= 0 and burned_io >= 0 and buyer_io + burned_io = amount_io and amount_io <= stake_io`)
      .execute();
    await db.schema.createIndex('stake_slashes_device').on('stake_slashes').columns(['device_id', 'at_ms', 'id']).execute();
    await db.schema.createIndex('stake_slashes_unpaid').on('stake_slashes').columns(['paid_at_ms', 'at_ms', 'id']).execute();

    await db.schema
      .createTable('gov_proposals')
      .addColumn('id', key, (c) => c.primaryKey())
      .addColumn('proposer', key, (c) => c.notNull())
      .addColumn('param', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('why', 'text')
      .addColumn('total_stake_io', int64, (c) => c.notNull())
      .addColumn('created_at_ms', int64, (c) => c.notNull())
      .addColumn('voting_ends_at_ms', int64, (c) => c.notNull())
      .addColumn('timelock_ends_at_ms', int64, (c) => c.notNull())
      .addColumn('outcome', 'text')
      .addColumn('closed_at_ms', int64)
      .addCheckConstraint('gov_proposals_outcome_check', sql`outcome is null or outcome in ('applied', 'rejected')`)
      .execute();
    await db.schema.createIndex('gov_proposals_open').on('gov_proposals').columns(['outcome', 'timelock_ends_at_ms', 'id']).execute();

    await db.schema
      .createTable('gov_snapshots')
      .addColumn('proposal_id', key, (c) => c.notNull().references('gov_proposals.id'))
      .addColumn('wallet', key, (c) => c.notNull())
      .addColumn('power_io', int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('gov_snapshots_pk', ['proposal_id', 'wallet'])
      .execute();

    await db.schema
      .createTable('gov_votes')
      .addColumn('proposal_id', key, (c) => c.notNull().references('gov_proposals.id'))
      .addColumn('voter', key, (c) => c.notNull())
      .addColumn('choice', 'text', (c) => c.notNull())
      .addColumn('power_io', int64, (c) => c.notNull())
      .addColumn('signature', 'text', (c) => c.notNull())
      .addColumn('body_hash', 'text', (c) => c.notNull())
      .addColumn('anchor_signature', 'text')
      .addColumn('at_ms', int64, (c) => c.notNull())
      .addPrimaryKeyConstraint('gov_votes_pk', ['proposal_id', 'voter'])
      .addCheckConstraint('gov_votes_choice_check', sql`choice in ('yes', 'no')`)
      .execute();

    await db.schema
      .createTable('param_changes')
      .addColumn('id', serialType(kind), (c) => (kind === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('old_value', 'text', (c) => c.notNull())
      .addColumn('new_value', 'text', (c) => c.notNull())
      .addColumn('proposal_id', key, (c) => c.notNull().unique())
      .addColumn('epoch_index', int64, (c) => c.notNull())
      .addColumn('applied_at_ms', int64, (c) => c.notNull())
      .execute();
  },
};
