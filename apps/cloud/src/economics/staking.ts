import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { isChainError, type Ledger } from '@idlegrid/chain';
import { formatDecimal, IdlegridError, microIo, type Address, type Clock, type DeviceId, type MicroIo } from '@idlegrid/domain';
import { slash as slashSplit, slashBps, stakeRatioPpm, stakeRequirement, type Params, type SlashReason } from '@idlegrid/economics';
import type { DeviceRecord, SlashRecord, Store, UnstakeRecord } from '@idlegrid/store';
import { fromChainError } from '../api/chain-errors.ts';
import type { CrashHook } from '../settlement/chain-tasks.ts';
import type { ParamBook } from './param-book.ts';

/**
 * Stake per device, unstakes and slashes. Money moves like settlement's: the store is written
 * first (a stake is recorded with its deposit signature; an unstake request and a slash are
 * recorded before anything is paid), then the stake vault pays, keyed by a deterministic batch
 * id through the ledger's idempotency, so `round()` can finish whatever a crash left and
 * nothing is paid twice.
 *
 * One wallet stakes a device (the first to stake it). Slashes: `slash_fraud_bps` /
 * `slash_abandon_bps` of the device's whole stake (active and in cooldown); half to the
 * affected buyer, the rest burned; with no affected buyer (a failed re-challenge while no lease
 * ran) the whole amount is burned — never to treasury, so the operator never profits from
 * slashing (economics `slash`).
 */

export interface StakingDeps {
  store: Store;
  ledger: Ledger;
  clock: Clock;
  book: ParamBook;
  logger: Logger;
  crash?: CrashHook;
  /** Whether this control plane may pay now (default: always); a follower replica records slashes and leaves paying to the leader's round. */
  leading?: () => boolean;
}

export interface Coverage {
  deviceId: DeviceId;
  staker: Address | null;
  /** Active stake: not in cooldown. */
  staked: MicroIo;
  /** In unstake cooldown (still slashable, counts for nothing else). */
  cooling: MicroIo;
  /** null when the device is not registered. */
  requirement: MicroIo | null;
  /** staked ÷ requirement in ppm, capped at 1,000,000. */
  ratioPpm: number;
  covered: boolean;
}

export interface SlashRequest {
  deviceId: DeviceId;
  reason: SlashReason;
  leaseId?: string;
  /** The affected buyer: gets half. Without one the whole slash is burned. */
  buyer?: Address;
  verificationId?: string;
}

export interface StakingRoundResult {
  slashesPaid: number;
  unstakesPaid: number;
  failures: number;
}

export const slashBatchId = (id: string): string => `slash-${id}`;
export const slashMemo = (id: string): string => `idlegrid:slash:${id}`;
export const unstakeBatchId = (id: string): string => `unstake-${id}`;
export const unstakeMemo = (id: string): string => `idlegrid:unstake:${id}`;
const HOUR_MS = 3_600_000;
const ROUND_LIMIT = 100;

export class StakingService {
  constructor(private readonly d: StakingDeps) {}

  /** stakeRequirement under `book.current()` (as last loaded: routes and the epoch close reload it). */
  requirement(device: Pick<DeviceRecord, 'gpuModel' | 'gpuCount'>): MicroIo {
    return stakeRequirement(device.gpuModel, device.gpuCount, this.d.book.current().stake_per_gpu);
  }

  async coverage(deviceId: DeviceId, nowMs = this.d.clock.now()): Promise<Coverage> {
    const { store } = this.d;
    const [stake, device, cooling] = await Promise.all([store.stakes.get(deviceId), store.devices.get(deviceId), store.stakes.cooling(deviceId, nowMs)]);
    const staked = microIo(stake?.amountIo ?? 0n);
    const requirement = device === null ? null : this.requirement(device);
    const ratioPpm = requirement === null ? 0 : stakeRatioPpm(staked, requirement);
    return {
      deviceId,
      staker: stake?.staker ?? null,
      staked,
      cooling: microIo(cooling.reduce((s, u) => s + u.amountIo, 0n)),
      requirement,
      ratioPpm,
      covered: requirement !== null && staked >= requirement,
    };
  }

  /**
   * Relays a staker-signed transfer to the stake vault and records it as the device's stake.
   * The device must be registered and not staked by another wallet (checked before anything
   * is sent). A deposit that landed but was not recorded (a crash in between) is recorded
   * when it is sent again; a true replay is CHAIN_DEPOSIT_REPLAY.
   */
  async stakeDeposit(staker: Address, deviceId: DeviceId, transaction: string): Promise<{ signature: string; amount: bigint }> {
    const { store, ledger, clock } = this.d;
    if ((await store.devices.get(deviceId)) === null) throw new IdlegridError('STAKE_DEVICE_UNKNOWN', { deviceId });
    const current = await store.stakes.get(deviceId);
    if (current !== null && current.staker !== staker) throw new IdlegridError('STAKE_OTHER_STAKER', { deviceId, staker: current.staker });
    let verified: { signature: string; amount: bigint };
    try {
      verified = await ledger.verifyDeposit(transaction, { from: staker, mint: 'IO', destination: 'stakeVault' });
    } catch (error) {
      const landed = landedButUnrecorded(error);
      if (!landed) throw fromChainError(error);
      verified = landed;
    }
    const result = await store.stakes.add({
      id: `stk_${randomBytes(10).toString('hex')}`, deviceId, staker, amountIo: verified.amount, depositSignature: verified.signature, atMs: clock.now(),
    });
    if (result.owner !== null) {
      // Another wallet staked the device between the check and the relay: the tokens are in the
      // vault with no record. Logged for the operator; the sender can ask for them back.
      this.d.logger.error({ deviceId, staker, owner: result.owner, signature: verified.signature }, 'stake landed for a device another wallet staked meanwhile');
      throw new IdlegridError('STAKE_OTHER_STAKER', { deviceId, staker: result.owner });
    }
    if (!result.added) throw new IdlegridError('CHAIN_DEPOSIT_REPLAY', { signature: verified.signature });
    return verified;
  }

  /** Moves `amount` of the active stake into cooldown; paid by `round()` after `unstake_cooldown_hours`. */
  async requestUnstake(staker: Address, deviceId: DeviceId, amount: bigint): Promise<UnstakeRecord> {
    const { store, clock } = this.d;
    if (amount <= 0n) throw new IdlegridError('INVALID_AMOUNT', { value: formatDecimal(amount), reason: 'an unstake must be more than 0' });
    const nowMs = clock.now();
    const availableAtMs = nowMs + (await this.params()).unstake_cooldown_hours * HOUR_MS;
    const recorded = await store.stakes.requestUnstake({ id: `uns_${randomBytes(10).toString('hex')}`, deviceId, staker, amountIo: amount, requestedAtMs: nowMs, availableAtMs });
    if (recorded !== null) return recorded;
    const stake = await store.stakes.get(deviceId);
    if (stake === null) throw new IdlegridError('NOT_FOUND', { resource: 'stake for device', id: deviceId });
    if (stake.staker !== staker) throw new IdlegridError('STAKE_OTHER_STAKER', { deviceId, staker: stake.staker });
    throw new IdlegridError('STAKE_INSUFFICIENT', { deviceId, requested: formatDecimal(amount), available: formatDecimal(stake.amountIo) });
  }

  /**
   * Slashes a device: recorded (and taken off its stake: active first, then the newest unstakes
   * still in cooldown) in one transaction, then paid out of the stake vault. With a lease or a
   * verification the slash has a deterministic id, so the same offence is never slashed twice;
   * null when the device has no stake. A failed payment is left for `round()`.
   */
  async slash(req: SlashRequest): Promise<SlashRecord | null> {
    const { store, clock } = this.d;
    const params = await this.params();
    const nowMs = clock.now();
    const id = slashId(req);
    const outcome = await store.transaction(async (tx) => {
      const existing = await tx.stakes.slash(id);
      if (existing !== null) return existing;
      const stake = await tx.stakes.get(req.deviceId);
      if (stake === null) return null;
      const cooling = await tx.stakes.cooling(req.deviceId, nowMs);
      const total = cooling.reduce((s, u) => s + u.amountIo, stake.amountIo);
      if (total === 0n) return null;
      const split = slashSplit(microIo(total), req.reason, params, { affectedBuyer: req.buyer !== undefined });
      const fromActive = split.slashed < stake.amountIo ? split.slashed : stake.amountIo;
      let rest = split.slashed - fromActive;
      const fromCooling: Array<{ id: string; amountIo: bigint }> = [];
      for (const u of cooling) {
        if (rest === 0n) break;
        const take = u.amountIo < rest ? u.amountIo : rest;
        fromCooling.push({ id: u.id, amountIo: take });
        rest -= take;
      }
      const { slash } = await tx.stakes.recordSlash({
        id, deviceId: req.deviceId, staker: stake.staker, reason: req.reason, bps: slashBps(req.reason, params), stakeIo: total,
        amountIo: split.slashed, buyer: req.buyer ?? null, buyerIo: split.toBuyer, burnedIo: split.burned,
        leaseId: req.leaseId ?? null, verificationId: req.verificationId ?? null, atMs: nowMs,
      }, { fromActive, fromCooling });
      return slash;
    });
    if (outcome === null) return null;
    this.d.crash?.('slash.recorded');
    if (outcome.paidAtMs !== null || this.d.leading?.() === false) return outcome;
    try {
      return await this.paySlash(outcome);
    } catch (error) {
      this.d.logger.warn({ err: error, slash: id }, 'slash recorded; its payment is left for the next round');
      return outcome;
    }
  }

  /** Finishes recorded slashes and pays unstakes whose cooldown ended; safe to re-run at any time. */
  async round(nowMs = this.d.clock.now()): Promise<StakingRoundResult> {
    const result = { slashesPaid: 0, unstakesPaid: 0, failures: 0 };
    for (const s of await this.d.store.stakes.unpaidSlashes(ROUND_LIMIT)) {
      try {
        await this.paySlash(s);
        result.slashesPaid++;
      } catch (error) {
        result.failures++;
        this.d.logger.warn({ err: error, slash: s.id }, 'slash payment failed; retried next round');
      }
    }
    for (const u of await this.d.store.stakes.dueUnstakes(nowMs, ROUND_LIMIT)) {
      try {
        await this.payUnstake(u);
        result.unstakesPaid++;
      } catch (error) {
        result.failures++;
        this.d.logger.warn({ err: error, unstake: u.id }, 'unstake payment failed; retried next round');
      }
    }
    return result;
  }

  /** The parameters in force, with the applied history re-read (slashes and unstakes are rare; they must not use stale values). */
  private async params(): Promise<Params> {
    return (await this.d.book.load(this.d.store)).current();
  }

  private async paySlash(s: SlashRecord): Promise<SlashRecord> {
    const transfers = s.buyer !== null && s.buyerIo > 0n ? [{ to: s.buyer, amount: s.buyerIo }] : [];
    const paid = await this.d.ledger.payBatch({ id: slashBatchId(s.id), memo: slashMemo(s.id), transfers, burn: s.burnedIo, mint: 'IO', source: 'stakeVault' });
    this.d.crash?.('slash.sent');
    await this.d.store.stakes.setSlashPaid(s.id, paid.signatures, this.d.clock.now());
    this.d.logger.info({ slash: s.id, deviceId: s.deviceId, amount: s.amountIo.toString(), toBuyer: s.buyerIo.toString(), burned: s.burnedIo.toString() }, 'stake slashed');
    return { ...s, signatures: [...paid.signatures], paidAtMs: this.d.clock.now() };
  }

  private async payUnstake(u: UnstakeRecord): Promise<string> {
    const paid = await this.d.ledger.payBatch({ id: unstakeBatchId(u.id), memo: unstakeMemo(u.id), transfers: [{ to: u.staker, amount: u.amountIo }], mint: 'IO', source: 'stakeVault' });
    this.d.crash?.('unstake.sent');
    const [signature] = paid.signatures;
    if (!signature) throw new Error(`unstake ${u.id} produced no transaction`);
    await this.d.store.stakes.setUnstakePaid(u.id, signature);
    return signature;
  }
}

/** Deterministic for an offence with a lease or verification (one slash per offence), random otherwise. */
export function slashId(req: SlashRequest): string {
  if (req.leaseId === undefined && req.verificationId === undefined) return `slh_${randomBytes(12).toString('hex')}`;
  const key = [req.reason, req.deviceId, req.leaseId ?? '', req.verificationId ?? ''].join(':');
  return `slh_${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 24)}`;
}

/** The deposit a CHAIN_DEPOSIT_REPLAY refers to, if it executed without error (the store decides whether it is new). */
function landedButUnrecorded(error: unknown): { signature: string; amount: bigint } | null {
  if (!isChainError(error) || error.code !== 'CHAIN_DEPOSIT_REPLAY') return null;
  const { signature, amount, err } = error.details;
  if (typeof signature !== 'string' || typeof amount !== 'string' || (err !== null && err !== undefined)) return null;
  return { signature, amount: BigInt(amount) };
}
