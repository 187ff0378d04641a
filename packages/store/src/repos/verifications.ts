import { sql, type Selectable } from 'kysely';
import type { DeviceId, GpuModel } from '@idlegrid/domain';
import { assertInteger, toNumber, toNumberOrNull } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import type { RepoContext } from '../repo-context.ts';
import type { DeviceSuspensionsTable, VerificationsTable } from '../schema.ts';

export type VerificationVerdict = 'pending' | 'passed' | 'failed' | 'cancelled';

/** One proof-of-GPU challenge sent to a device, and what came of it. */
export interface VerificationRecord {
  id: string;
  deviceId: DeviceId;
  /** The model and slots the device claimed when it was challenged. */
  gpuModel: GpuModel;
  gpuCount: number;
  n: number;
  /** 64 hex digits. */
  seed: string;
  issuedAtMs: number;
  /** Milliseconds the device had to answer. */
  deadlineMs: number;
  answeredAtMs: number | null;
  /** The product time the agent reported. */
  elapsedMs: number | null;
  /** Challenge sent → answer received, as the server saw it. */
  roundTripMs: number | null;
  /** The slowest reported time that passes for the claimed model. */
  limitMs: number | null;
  verdict: VerificationVerdict;
  /** Why it failed or was cancelled (e.g. `too_slow`, `freivalds`, `deadline`, `disconnected`). */
  reason: string | null;
  detail: string | null;
}

export type NewVerification = Pick<VerificationRecord, 'id' | 'deviceId' | 'gpuModel' | 'gpuCount' | 'n' | 'seed' | 'issuedAtMs' | 'deadlineMs'>;

export interface VerificationOutcome {
  verdict: Exclude<VerificationVerdict, 'pending'>;
  answeredAtMs: number | null;
  elapsedMs: number | null;
  roundTripMs: number | null;
  limitMs: number | null;
  reason: string | null;
  detail: string | null;
}

/** Verdict counts of one device (reputation's verification pass ratio = passed ÷ (passed + failed)). */
export interface VerificationTally {
  passed: number;
  failed: number;
}

export interface DeviceSuspension {
  deviceId: DeviceId;
  /** The failed challenge that caused it. */
  verificationId: string;
  reason: string;
  atMs: number;
}

export interface VerificationsRepo {
  create(input: NewVerification): Promise<VerificationRecord>;
  /** Records the outcome of a pending challenge; false if it was not pending (already settled). */
  settle(id: string, outcome: VerificationOutcome): Promise<boolean>;
  get(id: string): Promise<VerificationRecord | null>;
  /** A device's challenges, newest first. */
  listForDevice(deviceId: DeviceId, limit: number): Promise<VerificationRecord[]>;
  /** Pending challenges (of one device, or all), oldest first. */
  listPending(deviceId?: DeviceId): Promise<VerificationRecord[]>;
  /** Passed and failed counts per device (devices without a verdict are absent). Pass ids to restrict. */
  tallies(deviceIds?: readonly DeviceId[]): Promise<Map<DeviceId, VerificationTally>>;
  /** Suspends a device for good; false if it already was (the first suspension is kept). */
  suspend(input: DeviceSuspension): Promise<boolean>;
  suspension(deviceId: DeviceId): Promise<DeviceSuspension | null>;
  /** Every suspended device. */
  listSuspended(): Promise<DeviceSuspension[]>;
}

export function verificationsRepo(ctx: RepoContext): VerificationsRepo {
  const { db } = ctx;

  async function get(id: string): Promise<VerificationRecord | null> {
    const row = await db.selectFrom('verifications').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  }

  return guardRepo('verifications', {
    async create(input) {
      const row = await db
        .insertInto('verifications')
        .values({
          id: input.id,
          device_id: input.deviceId,
          gpu_model: input.gpuModel,
          gpu_count: assertInteger('gpuCount', input.gpuCount),
          n: assertInteger('n', input.n),
          seed: input.seed,
          issued_at_ms: assertInteger('issuedAtMs', input.issuedAtMs),
          deadline_ms: assertInteger('deadlineMs', input.deadlineMs),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    },

    async settle(id, o) {
      const result = await db
        .updateTable('verifications')
        .set({
          verdict: o.verdict,
          answered_at_ms: o.answeredAtMs === null ? null : assertInteger('answeredAtMs', o.answeredAtMs),
          elapsed_ms: o.elapsedMs,
          round_trip_ms: o.roundTripMs === null ? null : assertInteger('roundTripMs', o.roundTripMs),
          limit_ms: o.limitMs,
          reason: o.reason,
          detail: o.detail,
        })
        .where('id', '=', id)
        .where('verdict', '=', 'pending')
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    get,

    async listForDevice(deviceId, limit) {
      const rows = await db
        .selectFrom('verifications')
        .selectAll()
        .where('device_id', '=', deviceId)
        .orderBy('issued_at_ms', 'desc')
        .orderBy('id', 'desc')
        .limit(assertInteger('limit', limit))
        .execute();
      return rows.map(toRecord);
    },

    async listPending(deviceId) {
      let query = db.selectFrom('verifications').selectAll().where('verdict', '=', 'pending');
      if (deviceId !== undefined) query = query.where('device_id', '=', deviceId);
      const rows = await query.orderBy('issued_at_ms').orderBy('id').execute();
      return rows.map(toRecord);
    },

    async tallies(deviceIds) {
      const out = new Map<DeviceId, VerificationTally>();
      if (deviceIds !== undefined && deviceIds.length === 0) return out;
      let query = db
        .selectFrom('verifications')
        .select([
          'device_id',
          sql<string | number | bigint>`sum(case when verdict = 'passed' then 1 else 0 end)`.as('passed'),
          sql<string | number | bigint>`sum(case when verdict = 'failed' then 1 else 0 end)`.as('failed'),
        ])
        .where('verdict', 'in', ['passed', 'failed']);
      if (deviceIds !== undefined) query = query.where('device_id', 'in', [...deviceIds]);
      const rows = await query.groupBy('device_id').execute();
      for (const row of rows) out.set(row.device_id as DeviceId, { passed: toNumber(row.passed), failed: toNumber(row.failed) });
      return out;
    },

    async suspend(input) {
      const result = await db
        .insertInto('device_suspensions')
        .values({
          device_id: input.deviceId,
          verification_id: input.verificationId,
          reason: input.reason,
          at_ms: assertInteger('atMs', input.atMs),
        })
        .onConflict((oc) => oc.column('device_id').doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    async suspension(deviceId) {
      const row = await db.selectFrom('device_suspensions').selectAll().where('device_id', '=', deviceId).executeTakeFirst();
      return row === undefined ? null : toSuspension(row);
    },

    async listSuspended() {
      const rows = await db.selectFrom('device_suspensions').selectAll().orderBy('device_id').execute();
      return rows.map(toSuspension);
    },
  });
}

function toRecord(row: Selectable<VerificationsTable>): VerificationRecord {
  return {
    id: row.id,
    deviceId: row.device_id as DeviceId,
    gpuModel: row.gpu_model as GpuModel,
    gpuCount: toNumber(row.gpu_count),
    n: toNumber(row.n),
    seed: row.seed,
    issuedAtMs: toNumber(row.issued_at_ms),
    deadlineMs: toNumber(row.deadline_ms),
    answeredAtMs: toNumberOrNull(row.answered_at_ms),
    elapsedMs: row.elapsed_ms,
    roundTripMs: toNumberOrNull(row.round_trip_ms),
    limitMs: row.limit_ms,
    verdict: row.verdict as VerificationVerdict,
    reason: row.reason,
    detail: row.detail,
  };
}

function toSuspension(row: Selectable<DeviceSuspensionsTable>): DeviceSuspension {
  return { deviceId: row.device_id as DeviceId, verificationId: row.verification_id, reason: row.reason, atMs: toNumber(row.at_ms) };
}
