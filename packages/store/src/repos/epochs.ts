import type { Selectable } from 'kysely';
import type { Address, DeviceId, GpuModel, Tier } from '@idlegrid/domain';
import { assertInteger, toBigint, toNumber, toNumberOrNull } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import { inTransaction, type RepoContext } from '../repo-context.ts';
import type { EpochRewardsTable, EpochsTable } from '../schema.ts';

export type EpochState = 'open' | 'closed' | 'minted';

/** An epoch's figures. IO amounts in base units. */
export interface EpochRecord {
  idx: number;
  startMs: number;
  endMs: number;
  state: EpochState;
  servedGpuSeconds: number;
  availableGpuSeconds: number;
  utilizationBps: number;
  emissionIo: bigint;
  stipendPoolIo: bigint;
  usagePoolIo: bigint;
  /** Rounding leftovers and unclaimed pools, minted to treasury. */
  treasuryIo: bigint;
  /** The parameters in force during the epoch, as recorded at close (decimal strings). */
  params: Record<string, string> | null;
  merkleRoot: string | null;
  memo: string | null;
  signatures: string[] | null;
  closedAtMs: number | null;
  mintedAtMs: number | null;
}

/** One device's reward for one epoch and the figures it was computed from. */
export interface EpochReward {
  epochIdx: number;
  deviceId: DeviceId;
  /** Merkle leaf index in the epoch. */
  idx: number;
  payout: Address;
  gpuModel: GpuModel;
  gpus: number;
  verified: boolean;
  stakeIo: bigint;
  uptimeSeconds: number;
  servedGpuSeconds: number;
  tier: Tier;
  stipendIo: bigint;
  bonusIo: bigint;
  ineligible: string[];
}

/** Reputation state carried between epochs. */
export interface DeviceReputation {
  deviceId: DeviceId;
  onlineMsMark: number;
  uptimeEwmaPpm: number;
  epochsObserved: number;
  updatedEpoch: number;
}

export type EpochFigures = Pick<
  EpochRecord,
  'servedGpuSeconds' | 'availableGpuSeconds' | 'utilizationBps' | 'emissionIo' | 'stipendPoolIo' | 'usagePoolIo' | 'treasuryIo' | 'merkleRoot' | 'memo'
> & { params: Record<string, string> };

export interface EpochClose {
  idx: number;
  closedAtMs: number;
  figures: EpochFigures;
  rewards: readonly EpochReward[];
  reputation: readonly DeviceReputation[];
  /** The epoch that starts when this one ends (opened in the same transaction). */
  next: { idx: number; startMs: number; endMs: number };
}

/** Lease nodes that ended on a device: released normally vs lost or failed. */
export interface NodeOutcomes {
  completed: number;
  ended: number;
}

export interface EpochsRepo {
  /** The open epoch, if any. */
  open(): Promise<EpochRecord | null>;
  /** Opens an epoch unless one with this idx exists. True when inserted. */
  openEpoch(epoch: { idx: number; startMs: number; endMs: number }): Promise<boolean>;
  /**
   * Closes the open epoch `idx`: its figures, its rewards, the devices' reputation state and
   * the next open epoch, in one transaction (the caller's when there is one). False, with
   * nothing written, when `idx` is not open (another close won).
   */
  close(close: EpochClose): Promise<boolean>;
  markMinted(idx: number, signatures: readonly string[], atMs: number): Promise<void>;
  /** Closed epochs whose mint has not landed yet, oldest first. */
  unminted(): Promise<EpochRecord[]>;
  get(idx: number): Promise<EpochRecord | null>;
  /** Newest first; `beforeIdx` pages on. Open epochs are included. */
  list(options: { limit: number; beforeIdx?: number }): Promise<EpochRecord[]>;
  rewards(idx: number): Promise<EpochReward[]>;
  /** A device's rewards, newest epoch first. */
  rewardsOfDevice(deviceId: DeviceId, limit: number): Promise<EpochReward[]>;
  reputation(): Promise<Map<DeviceId, DeviceReputation>>;
  /**
   * GPU-seconds (seconds × slots) per device in the meter records of the settlement batches cut
   * in [fromMs, toMs): each record counts in exactly one epoch, the one its batch was cut in.
   */
  servedByDevice(fromMs: number, toMs: number): Promise<Map<DeviceId, number>>;
  /** Per device: lease nodes released normally vs all ended ones (released, lost, failed). */
  nodeOutcomes(): Promise<Map<DeviceId, NodeOutcomes>>;
}

export function epochsRepo(ctx: RepoContext): EpochsRepo {
  const { db } = ctx;
  const getEpoch = async (idx: number): Promise<EpochRecord | null> => {
    const row = await db.selectFrom('epochs').selectAll().where('idx', '=', idx).executeTakeFirst();
    return row === undefined ? null : toEpoch(row);
  };
  return guardRepo('epochs', {
    async open() {
      const row = await db.selectFrom('epochs').selectAll().where('state', '=', 'open').orderBy('idx', 'desc').executeTakeFirst();
      return row === undefined ? null : toEpoch(row);
    },
    async openEpoch(epoch) {
      const inserted = await db
        .insertInto('epochs')
        .values({ idx: assertInteger('idx', epoch.idx), start_ms: assertInteger('startMs', epoch.startMs), end_ms: assertInteger('endMs', epoch.endMs), state: 'open' })
        .onConflict((oc) => oc.column('idx').doNothing())
        .returning('idx')
        .executeTakeFirst();
      return inserted !== undefined;
    },
    async close(close) {
      return inTransaction(ctx, async (trx) => {
        const f = close.figures;
        const updated = await trx
          .updateTable('epochs')
          .set({
            state: 'closed',
            served_gpu_seconds: assertInteger('servedGpuSeconds', f.servedGpuSeconds),
            available_gpu_seconds: assertInteger('availableGpuSeconds', f.availableGpuSeconds),
            utilization_bps: assertInteger('utilizationBps', f.utilizationBps),
            emission_io: f.emissionIo,
            stipend_pool_io: f.stipendPoolIo,
            usage_pool_io: f.usagePoolIo,
            treasury_io: f.treasuryIo,
            params: JSON.stringify(f.params),
            merkle_root: f.merkleRoot,
            memo: f.memo,
            closed_at_ms: assertInteger('closedAtMs', close.closedAtMs),
          })
          .where('idx', '=', close.idx)
          .where('state', '=', 'open')
          .returning('idx')
          .executeTakeFirst();
        if (updated === undefined) return false;
        for (const r of close.rewards) await trx.insertInto('epoch_rewards').values(toRewardRow(r)).execute();
        for (const rep of close.reputation) {
          const values = {
            device_id: rep.deviceId,
            online_ms_mark: assertInteger('onlineMsMark', rep.onlineMsMark),
            uptime_ewma_ppm: assertInteger('uptimeEwmaPpm', rep.uptimeEwmaPpm),
            epochs_observed: assertInteger('epochsObserved', rep.epochsObserved),
            updated_epoch: assertInteger('updatedEpoch', rep.updatedEpoch),
          };
          await trx
            .insertInto('device_reputation')
            .values(values)
            .onConflict((oc) => oc.column('device_id').doUpdateSet({
              online_ms_mark: values.online_ms_mark, uptime_ewma_ppm: values.uptime_ewma_ppm,
              epochs_observed: values.epochs_observed, updated_epoch: values.updated_epoch,
            }))
            .execute();
        }
        const n = close.next;
        await trx
          .insertInto('epochs')
          .values({ idx: assertInteger('next.idx', n.idx), start_ms: assertInteger('next.startMs', n.startMs), end_ms: assertInteger('next.endMs', n.endMs), state: 'open' })
          .execute();
        return true;
      });
    },
    async markMinted(idx, signatures, atMs) {
      await db
        .updateTable('epochs')
        .set({ state: 'minted', signatures: JSON.stringify(signatures), minted_at_ms: assertInteger('atMs', atMs) })
        .where('idx', '=', idx)
        .where('state', '=', 'closed')
        .execute();
    },
    async unminted() {
      const rows = await db.selectFrom('epochs').selectAll().where('state', '=', 'closed').orderBy('idx').execute();
      return rows.map(toEpoch);
    },
    get: getEpoch,
    async list(options) {
      let q = db.selectFrom('epochs').selectAll().orderBy('idx', 'desc').limit(assertInteger('limit', options.limit));
      if (options.beforeIdx !== undefined) q = q.where('idx', '<', options.beforeIdx);
      return (await q.execute()).map(toEpoch);
    },
    async rewards(idx) {
      const rows = await db.selectFrom('epoch_rewards').selectAll().where('epoch_idx', '=', idx).orderBy('idx').execute();
      return rows.map(toReward);
    },
    async rewardsOfDevice(deviceId, limit) {
      const rows = await db
        .selectFrom('epoch_rewards')
        .selectAll()
        .where('device_id', '=', deviceId)
        .orderBy('epoch_idx', 'desc')
        .limit(assertInteger('limit', limit))
        .execute();
      return rows.map(toReward);
    },
    async reputation() {
      const rows = await db.selectFrom('device_reputation').selectAll().execute();
      return new Map(
        rows.map((r) => [
          r.device_id as DeviceId,
          {
            deviceId: r.device_id as DeviceId,
            onlineMsMark: toNumber(r.online_ms_mark),
            uptimeEwmaPpm: toNumber(r.uptime_ewma_ppm),
            epochsObserved: toNumber(r.epochs_observed),
            updatedEpoch: toNumber(r.updated_epoch),
          },
        ]),
      );
    },
    async servedByDevice(fromMs, toMs) {
      const rows = await db
        .selectFrom('meter_records as r')
        .innerJoin('settlement_batches as b', 'b.id', 'r.batch_id')
        .select(['r.device_id', 'r.seconds', 'r.slots'])
        .where('b.cutoff_ms', '>=', assertInteger('fromMs', fromMs))
        .where('b.cutoff_ms', '<', assertInteger('toMs', toMs))
        .execute();
      const served = new Map<DeviceId, number>();
      for (const r of rows) {
        const id = r.device_id as DeviceId;
        served.set(id, (served.get(id) ?? 0) + toNumber(r.seconds) * toNumber(r.slots));
      }
      return served;
    },
    async nodeOutcomes() {
      const rows = await db
        .selectFrom('lease_nodes')
        .select(['device_id', 'state'])
        .where('state', 'in', ['released', 'lost', 'failed'])
        .execute();
      const outcomes = new Map<DeviceId, NodeOutcomes>();
      for (const r of rows) {
        const id = r.device_id as DeviceId;
        const o = outcomes.get(id) ?? { completed: 0, ended: 0 };
        o.ended += 1;
        if (r.state === 'released') o.completed += 1;
        outcomes.set(id, o);
      }
      return outcomes;
    },
  });
}

function toEpoch(row: Selectable<EpochsTable>): EpochRecord {
  return {
    idx: toNumber(row.idx),
    startMs: toNumber(row.start_ms),
    endMs: toNumber(row.end_ms),
    state: row.state as EpochState,
    servedGpuSeconds: toNumber(row.served_gpu_seconds),
    availableGpuSeconds: toNumber(row.available_gpu_seconds),
    utilizationBps: toNumber(row.utilization_bps),
    emissionIo: toBigint(row.emission_io),
    stipendPoolIo: toBigint(row.stipend_pool_io),
    usagePoolIo: toBigint(row.usage_pool_io),
    treasuryIo: toBigint(row.treasury_io),
    params: row.params === null ? null : (JSON.parse(row.params) as Record<string, string>),
    merkleRoot: row.merkle_root,
    memo: row.memo,
    signatures: row.signatures === null ? null : (JSON.parse(row.signatures) as string[]),
    closedAtMs: toNumberOrNull(row.closed_at_ms),
    mintedAtMs: toNumberOrNull(row.minted_at_ms),
  };
}

function toRewardRow(r: EpochReward) {
  return {
    epoch_idx: assertInteger('epochIdx', r.epochIdx),
    device_id: r.deviceId,
    idx: assertInteger('idx', r.idx),
    payout: r.payout,
    gpu_model: r.gpuModel,
    gpus: assertInteger('gpus', r.gpus),
    verified: r.verified ? 1 : 0,
    stake_io: r.stakeIo,
    uptime_seconds: assertInteger('uptimeSeconds', r.uptimeSeconds),
    served_gpu_seconds: assertInteger('servedGpuSeconds', r.servedGpuSeconds),
    tier: r.tier,
    stipend_io: r.stipendIo,
    bonus_io: r.bonusIo,
    ineligible: JSON.stringify(r.ineligible),
  };
}

function toReward(row: Selectable<EpochRewardsTable>): EpochReward {
  return {
    epochIdx: toNumber(row.epoch_idx),
    deviceId: row.device_id as DeviceId,
    idx: toNumber(row.idx),
    payout: row.payout as Address,
    gpuModel: row.gpu_model as GpuModel,
    gpus: toNumber(row.gpus),
    verified: toNumber(row.verified) !== 0,
    stakeIo: toBigint(row.stake_io),
    uptimeSeconds: toNumber(row.uptime_seconds),
    servedGpuSeconds: toNumber(row.served_gpu_seconds),
    tier: row.tier as Tier,
    stipendIo: toBigint(row.stipend_io),
    bonusIo: toBigint(row.bonus_io),
    ineligible: JSON.parse(row.ineligible) as string[],
  };
}
