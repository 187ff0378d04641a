import { sql, type Selectable } from 'kysely';
import type { Address, DeviceId } from '@idlegrid/domain';
import { assertInteger, toBigint, toNumber, toNumberOrNull } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import { inTransaction, type RepoContext } from '../repo-context.ts';
import type { StakeMovementsTable, StakeSlashesTable, StakesTable } from '../schema.ts';

/** A device's active stake (not in cooldown) and the one wallet that staked it. */
export interface StakeRecord {
  deviceId: DeviceId;
  staker: Address;
  amountIo: bigint;
  updatedAtMs: number;
}

export interface StakeAddRecord {
  id: string;
  deviceId: DeviceId;
  staker: Address;
  amountIo: bigint;
  depositSignature: string;
  atMs: number;
}

export interface UnstakeRecord {
  id: string;
  deviceId: DeviceId;
  staker: Address;
  /** What will be paid; a slash during the cooldown lowers it. */
  amountIo: bigint;
  requestedAtMs: number;
  availableAtMs: number;
  payoutSignature: string | null;
}

export type SlashReasonText = 'fraud' | 'abandon';

export interface SlashRecord {
  id: string;
  deviceId: DeviceId;
  staker: Address;
  reason: SlashReasonText;
  bps: number;
  /** The stake (active + in cooldown) the slash was computed from. */
  stakeIo: bigint;
  amountIo: bigint;
  buyer: Address | null;
  buyerIo: bigint;
  burnedIo: bigint;
  leaseId: string | null;
  verificationId: string | null;
  atMs: number;
  signatures: string[] | null;
  paidAtMs: number | null;
}

export type NewSlash = Omit<SlashRecord, 'signatures' | 'paidAtMs'>;

export interface StakesRepo {
  get(deviceId: DeviceId): Promise<StakeRecord | null>;
  /** Every device the wallet staked, by device id. */
  listByStaker(staker: Address): Promise<StakeRecord[]>;
  /**
   * Records a stake deposit and adds it to the device's active stake, once per deposit
   * signature: a replay changes nothing and returns `added: false`. Refuses (returns
   * `owner`) when another wallet already stakes the device.
   */
  add(add: StakeAddRecord): Promise<{ added: boolean; stake: StakeRecord | null; owner: Address | null }>;
  /** The add movement of a deposit signature, or null. */
  addBySignature(signature: string): Promise<StakeAddRecord | null>;
  /**
   * Moves `amountIo` from the device's active stake into an unstake request that becomes
   * payable at `availableAtMs`. Null (nothing changed) when the active stake is short or
   * belongs to another wallet.
   */
  requestUnstake(u: Omit<UnstakeRecord, 'payoutSignature'>): Promise<UnstakeRecord | null>;
  unstakes(deviceId: DeviceId): Promise<UnstakeRecord[]>;
  /** Unstake requests still in cooldown at `nowMs` (slashable), newest first. */
  cooling(deviceId: DeviceId, nowMs: number): Promise<UnstakeRecord[]>;
  /** Unpaid unstake requests whose cooldown ended by `nowMs`, oldest first. */
  dueUnstakes(nowMs: number, limit: number): Promise<UnstakeRecord[]>;
  setUnstakePaid(id: string, signature: string): Promise<void>;
  /**
   * Records a slash and takes its amount from the device's stake: `fromActive` off the active
   * stake, then each `fromCooling` amount off that unstake request. Once per id: a second
   * call with the same id changes nothing and returns `recorded: false` with the first record.
   */
  recordSlash(slash: NewSlash, take: { fromActive: bigint; fromCooling: ReadonlyArray<{ id: string; amountIo: bigint }> }): Promise<{ recorded: boolean; slash: SlashRecord }>;
  slash(id: string): Promise<SlashRecord | null>;
  slashes(deviceId: DeviceId): Promise<SlashRecord[]>;
  /** Slashes recorded but not yet paid out of the stake vault, oldest first. */
  unpaidSlashes(limit: number): Promise<SlashRecord[]>;
  setSlashPaid(id: string, signatures: readonly string[], atMs: number): Promise<void>;
  /** Active stake per staker wallet (for a governance snapshot), wallets with none left out. */
  activeByStaker(): Promise<Array<{ wallet: Address; amountIo: bigint }>>;
}

export function stakesRepo(ctx: RepoContext): StakesRepo {
  const { db } = ctx;
  const get = async (deviceId: DeviceId): Promise<StakeRecord | null> => {
    const row = await db.selectFrom('stakes').selectAll().where('device_id', '=', deviceId).executeTakeFirst();
    return row === undefined ? null : toStake(row);
  };
  const getSlash = async (id: string): Promise<SlashRecord | null> => {
    const row = await db.selectFrom('stake_slashes').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toSlash(row);
  };
  const unstakeRows = () => db.selectFrom('stake_movements').selectAll().where('kind', '=', 'unstake');
  return guardRepo('stakes', {
    get,
    async listByStaker(staker) {
      const rows = await db.selectFrom('stakes').selectAll().where('staker', '=', staker).orderBy('device_id').execute();
      return rows.map(toStake);
    },
    async add(a) {
      assertAmount(a.amountIo, false);
      const at = assertInteger('atMs', a.atMs);
      return inTransaction(ctx, async (trx) => {
        const current = await trx.selectFrom('stakes').selectAll().where('device_id', '=', a.deviceId).executeTakeFirst();
        if (current !== undefined && current.staker !== a.staker) return { added: false, stake: toStake(current), owner: current.staker as Address };
        const inserted = await trx
          .insertInto('stake_movements')
          .values({ id: a.id, device_id: a.deviceId, staker: a.staker, kind: 'add', amount_io: a.amountIo, deposit_signature: a.depositSignature, requested_at_ms: at })
          .onConflict((oc) => oc.column('deposit_signature').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (inserted === undefined) return { added: false, stake: current === undefined ? null : toStake(current), owner: null };
        const row = await trx
          .insertInto('stakes')
          .values({ device_id: a.deviceId, staker: a.staker, amount_io: a.amountIo, updated_at_ms: at })
          .onConflict((oc) =>
            oc.column('device_id').doUpdateSet((eb) => ({
              amount_io: eb('stakes.amount_io', '+', eb.ref('excluded.amount_io')),
              updated_at_ms: eb.ref('excluded.updated_at_ms'),
            })),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        return { added: true, stake: toStake(row), owner: null };
      });
    },
    async addBySignature(signature) {
      const row = await db.selectFrom('stake_movements').selectAll().where('deposit_signature', '=', signature).executeTakeFirst();
      if (row === undefined) return null;
      return {
        id: row.id, deviceId: row.device_id as DeviceId, staker: row.staker as Address, amountIo: toBigint(row.amount_io),
        depositSignature: signature, atMs: toNumber(row.requested_at_ms),
      };
    },
    async requestUnstake(u) {
      assertAmount(u.amountIo, false);
      const at = assertInteger('requestedAtMs', u.requestedAtMs);
      return inTransaction(ctx, async (trx) => {
        const debited = await trx
          .updateTable('stakes')
          .set({ amount_io: sql<bigint>`amount_io - ${u.amountIo}`, updated_at_ms: at })
          .where('device_id', '=', u.deviceId)
          .where('staker', '=', u.staker)
          .where('amount_io', '>=', u.amountIo)
          .executeTakeFirst();
        if (debited.numUpdatedRows !== 1n) return null;
        const row = await trx
          .insertInto('stake_movements')
          .values({
            id: u.id, device_id: u.deviceId, staker: u.staker, kind: 'unstake', amount_io: u.amountIo, requested_at_ms: at,
            available_at_ms: assertInteger('availableAtMs', u.availableAtMs),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toUnstake(row);
      });
    },
    async unstakes(deviceId) {
      const rows = await unstakeRows().where('device_id', '=', deviceId).orderBy('requested_at_ms', 'desc').orderBy('id', 'desc').execute();
      return rows.map(toUnstake);
    },
    async cooling(deviceId, nowMs) {
      const rows = await unstakeRows()
        .where('device_id', '=', deviceId)
        .where('payout_signature', 'is', null)
        .where('available_at_ms', '>', assertInteger('nowMs', nowMs))
        .where('amount_io', '>', 0)
        .orderBy('requested_at_ms', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map(toUnstake);
    },
    async dueUnstakes(nowMs, limit) {
      const rows = await unstakeRows()
        .where('payout_signature', 'is', null)
        .where('available_at_ms', '<=', assertInteger('nowMs', nowMs))
        .where('amount_io', '>', 0)
        .orderBy('available_at_ms')
        .orderBy('id')
        .limit(assertInteger('limit', limit))
        .execute();
      return rows.map(toUnstake);
    },
    async setUnstakePaid(id, signature) {
      await db.updateTable('stake_movements').set({ payout_signature: signature }).where('id', '=', id).where('kind', '=', 'unstake').execute();
    },
    async recordSlash(s, take) {
      const at = assertInteger('atMs', s.atMs);
      const taken = take.fromCooling.reduce((sum, c) => sum + c.amountIo, take.fromActive);
      if (taken !== s.amountIo) throw new RangeError(`slash ${s.id}: takes ${taken}, records ${s.amountIo}`);
      const recorded = await inTransaction(ctx, async (trx) => {
        const row = await trx
          .insertInto('stake_slashes')
          .values({
            id: s.id, device_id: s.deviceId, staker: s.staker, reason: s.reason, bps: s.bps, stake_io: s.stakeIo, amount_io: s.amountIo,
            buyer: s.buyer, buyer_io: s.buyerIo, burned_io: s.burnedIo, lease_id: s.leaseId, verification_id: s.verificationId, at_ms: at,
            // Nothing to pay: settled the moment it is recorded.
            paid_at_ms: s.amountIo === 0n ? at : null,
            signatures: s.amountIo === 0n ? '[]' : null,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (row === undefined) return false;
        if (take.fromActive > 0n) {
          const r = await trx
            .updateTable('stakes')
            .set({ amount_io: sql<bigint>`amount_io - ${take.fromActive}`, updated_at_ms: at })
            .where('device_id', '=', s.deviceId)
            .where('amount_io', '>=', take.fromActive)
            .executeTakeFirst();
          if (r.numUpdatedRows !== 1n) throw new Error(`slash ${s.id}: active stake of ${s.deviceId} is below ${take.fromActive}`);
        }
        for (const c of take.fromCooling) {
          if (c.amountIo === 0n) continue;
          const r = await trx
            .updateTable('stake_movements')
            .set({ amount_io: sql<bigint>`amount_io - ${c.amountIo}` })
            .where('id', '=', c.id)
            .where('payout_signature', 'is', null)
            .where('amount_io', '>=', c.amountIo)
            .executeTakeFirst();
          if (r.numUpdatedRows !== 1n) throw new Error(`slash ${s.id}: unstake ${c.id} holds less than ${c.amountIo}`);
        }
        return true;
      });
      const stored = await getSlash(s.id);
      if (stored === null) throw new Error(`slash ${s.id} is not stored`);
      return { recorded, slash: stored };
    },
    slash: getSlash,
    async slashes(deviceId) {
      const rows = await db.selectFrom('stake_slashes').selectAll().where('device_id', '=', deviceId).orderBy('at_ms', 'desc').orderBy('id', 'desc').execute();
      return rows.map(toSlash);
    },
    async unpaidSlashes(limit) {
      const rows = await db.selectFrom('stake_slashes').selectAll().where('paid_at_ms', 'is', null).orderBy('at_ms').orderBy('id').limit(assertInteger('limit', limit)).execute();
      return rows.map(toSlash);
    },
    async setSlashPaid(id, signatures, atMs) {
      await db
        .updateTable('stake_slashes')
        .set({ signatures: JSON.stringify(signatures), paid_at_ms: assertInteger('atMs', atMs) })
        .where('id', '=', id)
        .where('paid_at_ms', 'is', null)
        .execute();
    },
    async activeByStaker() {
      const rows = await db
        .selectFrom('stakes')
        .select(['staker', (eb) => eb.fn.sum<bigint | number | string>('amount_io').as('total')])
        .where('amount_io', '>', 0)
        .groupBy('staker')
        .orderBy('staker')
        .execute();
      return rows.map((r) => ({ wallet: r.staker as Address, amountIo: toBigint(r.total) }));
    },
  });
}

function assertAmount(amount: bigint, zeroOk: boolean): void {
  if (amount < (zeroOk ? 0n : 1n) || amount >= 2n ** 63n) throw new RangeError(`amount out of range: ${amount}`);
}

function toStake(row: Selectable<StakesTable>): StakeRecord {
  return { deviceId: row.device_id as DeviceId, staker: row.staker as Address, amountIo: toBigint(row.amount_io), updatedAtMs: toNumber(row.updated_at_ms) };
}

function toUnstake(row: Selectable<StakeMovementsTable>): UnstakeRecord {
  return {
    id: row.id,
    deviceId: row.device_id as DeviceId,
    staker: row.staker as Address,
    amountIo: toBigint(row.amount_io),
    requestedAtMs: toNumber(row.requested_at_ms),
    availableAtMs: toNumberOrNull(row.available_at_ms) ?? toNumber(row.requested_at_ms),
    payoutSignature: row.payout_signature,
  };
}

function toSlash(row: Selectable<StakeSlashesTable>): SlashRecord {
  return {
    id: row.id,
    deviceId: row.device_id as DeviceId,
    staker: row.staker as Address,
    reason: row.reason as SlashReasonText,
    bps: toNumber(row.bps),
    stakeIo: toBigint(row.stake_io),
    amountIo: toBigint(row.amount_io),
    buyer: row.buyer as Address | null,
    buyerIo: toBigint(row.buyer_io),
    burnedIo: toBigint(row.burned_io),
    leaseId: row.lease_id,
    verificationId: row.verification_id,
    atMs: toNumber(row.at_ms),
    signatures: row.signatures === null ? null : (JSON.parse(row.signatures) as string[]),
    paidAtMs: toNumberOrNull(row.paid_at_ms),
  };
}
