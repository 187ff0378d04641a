import { sql, type Selectable } from 'kysely';
import type { Address, DeviceId, LeaseId } from '@idlegrid/domain';
import { assertInteger, toBigint, toNumber, toNumberOrNull } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import { inTransaction, type RepoContext } from '../repo-context.ts';
import type { MeterRecordsTable, SettlementBatchesTable } from '../schema.ts';

/** One node's metered interval in a batch: a Merkle leaf of that batch. IO amounts in base units. */
export interface MeterRecord {
  batchId: string;
  /** Leaf index in the batch. */
  idx: number;
  leaseId: LeaseId;
  nodeId: number;
  deviceId: DeviceId;
  /** The supplier's payout wallet. */
  payout: Address;
  fromMs: number;
  toMs: number;
  seconds: number;
  slots: number;
  /** MicroUsd per GPU-hour. */
  pricePerGpuHour: bigint;
  grossIo: bigint;
  feeIo: bigint;
}

export type BatchState = 'pending' | 'paid';

export interface SettlementBatchRecord {
  id: string;
  cutoffMs: number;
  state: BatchState;
  merkleRoot: string;
  memo: string;
  records: number;
  grossIo: bigint;
  feeIo: bigint;
  burnIo: bigint;
  treasuryIo: bigint;
  signatures: string[] | null;
  createdAtMs: number;
  paidAtMs: number | null;
}

export interface NewBatch {
  batch: Omit<SettlementBatchRecord, 'state' | 'signatures' | 'paidAtMs'>;
  records: readonly MeterRecord[];
}

export interface DeviceEarnings {
  /** Σ seconds × slots over the device's meter records. */
  gpuSeconds: number;
  grossIo: bigint;
  feeIo: bigint;
  /** Net (gross − fee) in batches already paid on chain. */
  paidIo: bigint;
  /** Net in batches recorded but not yet paid. */
  pendingIo: bigint;
}

export interface UsageReport {
  leaseId: LeaseId;
  deviceId: DeviceId;
  reportedSeconds: number;
  atMs: number;
}

export interface SettlementRepo {
  /**
   * Records a batch, its meter records, each node's new watermark (the record's toMs) and each
   * lease's charge, in one transaction. Returns false (nothing written) when the id exists.
   */
  createBatch(batch: NewBatch): Promise<boolean>;
  markPaid(id: string, signatures: readonly string[], atMs: number): Promise<void>;
  batch(id: string): Promise<SettlementBatchRecord | null>;
  pendingBatches(): Promise<SettlementBatchRecord[]>;
  /** Newest first. */
  listBatches(options: { limit: number; beforeId?: string }): Promise<SettlementBatchRecord[]>;
  records(batchId: string): Promise<MeterRecord[]>;
  recordsOfLease(leaseId: LeaseId): Promise<MeterRecord[]>;
  /** The agents' cumulative GPU-seconds per lease and device; a report never lowers the stored value. */
  recordUsage(reports: readonly UsageReport[]): Promise<void>;
  usage(leaseId: LeaseId): Promise<Map<DeviceId, number>>;
  /** What a device has earned: slot-seconds billed, gross, fee, and the net of paid vs still pending batches. */
  earningsOf(deviceId: DeviceId): Promise<DeviceEarnings>;
  idempotencyGet(key: string): Promise<string | undefined>;
  idempotencyPut(key: string, entry: string): Promise<void>;
}

export function settlementRepo(ctx: RepoContext): SettlementRepo {
  const { db } = ctx;
  const getBatch = async (id: string): Promise<SettlementBatchRecord | null> => {
    const row = await db.selectFrom('settlement_batches').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toBatch(row);
  };
  return guardRepo('settlement', {
    async createBatch({ batch, records }) {
      return inTransaction(ctx, async (trx) => {
        const inserted = await trx
          .insertInto('settlement_batches')
          .values({
            id: batch.id,
            cutoff_ms: assertInteger('cutoffMs', batch.cutoffMs),
            state: 'pending',
            merkle_root: batch.merkleRoot,
            memo: batch.memo,
            records: assertInteger('records', batch.records),
            gross_io: batch.grossIo,
            fee_io: batch.feeIo,
            burn_io: batch.burnIo,
            treasury_io: batch.treasuryIo,
            signatures: null,
            created_at_ms: assertInteger('createdAtMs', batch.createdAtMs),
            paid_at_ms: null,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (inserted === undefined) return false;
        const charges = new Map<LeaseId, bigint>();
        for (const r of records) {
          await trx.insertInto('meter_records').values(toRow(r)).execute();
          await trx.updateTable('lease_nodes').set({ billed_until_ms: assertInteger('toMs', r.toMs) }).where('id', '=', r.nodeId).execute();
          charges.set(r.leaseId, (charges.get(r.leaseId) ?? 0n) + r.grossIo);
        }
        for (const [leaseId, amount] of charges) {
          // The CHECK charged_io <= reserved_io refuses an overcharge: the batch is then not recorded.
          await trx.updateTable('lease_accounts').set({ charged_io: sql<bigint>`charged_io + ${amount}` }).where('lease_id', '=', leaseId).execute();
        }
        return true;
      });
    },
    async markPaid(id, signatures, atMs) {
      await db
        .updateTable('settlement_batches')
        .set({ state: 'paid', signatures: JSON.stringify(signatures), paid_at_ms: assertInteger('atMs', atMs) })
        .where('id', '=', id)
        .execute();
    },
    batch: getBatch,
    async pendingBatches() {
      const rows = await db.selectFrom('settlement_batches').selectAll().where('state', '=', 'pending').orderBy('id').execute();
      return rows.map(toBatch);
    },
    async listBatches(options) {
      let q = db.selectFrom('settlement_batches').selectAll().orderBy('id', 'desc').limit(assertInteger('limit', options.limit));
      if (options.beforeId !== undefined) q = q.where('id', '<', options.beforeId);
      return (await q.execute()).map(toBatch);
    },
    async records(batchId) {
      const rows = await db.selectFrom('meter_records').selectAll().where('batch_id', '=', batchId).orderBy('idx').execute();
      return rows.map(toRecord);
    },
    async recordsOfLease(leaseId) {
      const rows = await db.selectFrom('meter_records').selectAll().where('lease_id', '=', leaseId).orderBy('batch_id').orderBy('idx').execute();
      return rows.map(toRecord);
    },
    async recordUsage(reports) {
      for (const r of reports) {
        if (!Number.isFinite(r.reportedSeconds) || r.reportedSeconds < 0) throw new RangeError(`reportedSeconds out of range: ${r.reportedSeconds}`);
        await db
          .insertInto('lease_usage')
          .values({ lease_id: r.leaseId, device_id: r.deviceId, reported_seconds: r.reportedSeconds, at_ms: assertInteger('atMs', r.atMs) })
          .onConflict((oc) =>
            oc.columns(['lease_id', 'device_id']).doUpdateSet((eb) => ({ reported_seconds: eb.ref('excluded.reported_seconds'), at_ms: eb.ref('excluded.at_ms') })).where('lease_usage.reported_seconds', '<', (eb) => eb.ref('excluded.reported_seconds')),
          )
          .execute();
      }
    },
    async usage(leaseId) {
      const rows = await db.selectFrom('lease_usage').select(['device_id', 'reported_seconds']).where('lease_id', '=', leaseId).execute();
      return new Map(rows.map((r) => [r.device_id as DeviceId, Number(r.reported_seconds)]));
    },
    async earningsOf(deviceId) {
      const rows = await db
        .selectFrom('meter_records as r')
        .innerJoin('settlement_batches as b', 'b.id', 'r.batch_id')
        .select(['b.state', 'r.seconds', 'r.slots', 'r.gross_io', 'r.fee_io'])
        .where('r.device_id', '=', deviceId)
        .execute();
      const e: DeviceEarnings = { gpuSeconds: 0, grossIo: 0n, feeIo: 0n, paidIo: 0n, pendingIo: 0n };
      for (const r of rows) {
        const gross = toBigint(r.gross_io);
        const fee = toBigint(r.fee_io);
        e.gpuSeconds += toNumber(r.seconds) * toNumber(r.slots);
        e.grossIo += gross;
        e.feeIo += fee;
        if (r.state === 'paid') e.paidIo += gross - fee;
        else e.pendingIo += gross - fee;
      }
      return e;
    },
    async idempotencyGet(key) {
      const row = await db.selectFrom('chain_idempotency').select('entry').where('key', '=', key).executeTakeFirst();
      return row?.entry;
    },
    async idempotencyPut(key, entry) {
      await db
        .insertInto('chain_idempotency')
        .values({ key, entry })
        .onConflict((oc) => oc.column('key').doUpdateSet({ entry }))
        .execute();
    },
  });
}

function toRow(r: MeterRecord) {
  return {
    batch_id: r.batchId,
    idx: assertInteger('idx', r.idx),
    lease_id: r.leaseId,
    node_id: assertInteger('nodeId', r.nodeId),
    device_id: r.deviceId,
    payout: r.payout,
    from_ms: assertInteger('fromMs', r.fromMs),
    to_ms: assertInteger('toMs', r.toMs),
    seconds: assertInteger('seconds', r.seconds),
    slots: assertInteger('slots', r.slots),
    price_per_gpu_hour: r.pricePerGpuHour,
    gross_io: r.grossIo,
    fee_io: r.feeIo,
  };
}

function toRecord(row: Selectable<MeterRecordsTable>): MeterRecord {
  return {
    batchId: row.batch_id,
    idx: toNumber(row.idx),
    leaseId: row.lease_id as LeaseId,
    nodeId: toNumber(row.node_id),
    deviceId: row.device_id as DeviceId,
    payout: row.payout as Address,
    fromMs: toNumber(row.from_ms),
    toMs: toNumber(row.to_ms),
    seconds: toNumber(row.seconds),
    slots: toNumber(row.slots),
    pricePerGpuHour: toBigint(row.price_per_gpu_hour),
    grossIo: toBigint(row.gross_io),
    feeIo: toBigint(row.fee_io),
  };
}

function toBatch(row: Selectable<SettlementBatchesTable>): SettlementBatchRecord {
  return {
    id: row.id,
    cutoffMs: toNumber(row.cutoff_ms),
    state: row.state as BatchState,
    merkleRoot: row.merkle_root,
    memo: row.memo,
    records: toNumber(row.records),
    grossIo: toBigint(row.gross_io),
    feeIo: toBigint(row.fee_io),
    burnIo: toBigint(row.burn_io),
    treasuryIo: toBigint(row.treasury_io),
    signatures: row.signatures === null ? null : (JSON.parse(row.signatures) as string[]),
    createdAtMs: toNumber(row.created_at_ms),
    paidAtMs: toNumberOrNull(row.paid_at_ms),
  };
}
