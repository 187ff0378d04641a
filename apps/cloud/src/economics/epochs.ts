import type { Logger } from 'pino';
import type { Ledger } from '@idlegrid/chain';
import type { Clock, DeviceId, MicroIo } from '@idlegrid/domain';
import type { Params } from '@idlegrid/economics';
import type { DeviceRecord, EpochRecord, Store } from '@idlegrid/store';
import type { CrashHook } from '../settlement/chain-tasks.ts';
import { epochBatchId, mintsOf, planEpoch, type DeviceStandingUpdate, type EpochDeviceInput, type EpochPlan } from './epoch-plan.ts';

/** What verification has judged of a device so far. */
export interface VerificationCounts {
  passed: number;
  judged: number;
}

export interface EpochServiceOptions {
  store: Store;
  ledger: Ledger;
  clock: Clock;
  logger: Logger;
  /** Length of the epochs opened from now on. */
  epochSeconds: number;
  /** The parameters in force (governance changes them between epochs). */
  params: () => Params;
  /** Stake that counts for a device's eligibility; none when staking is not wired. */
  stakeOf?: (deviceId: DeviceId) => Promise<MicroIo>;
  /** The live registry's last heartbeat of an online device (fresher than the store's, which is flushed periodically). */
  lastSeenLive?: (deviceId: DeviceId) => number | undefined;
  /** Verification history of a device; when absent, a verified device counts as all passed. */
  verificationsOf?: (deviceId: DeviceId) => Promise<VerificationCounts>;
  /**
   * Runs inside the closing transaction after the epoch's rewards are recorded: governance
   * applies the changes due at this epoch boundary there, so they take effect exactly once.
   */
  onClose?: (tx: Store, epoch: { idx: number; endMs: number }) => Promise<void>;
  /** After the close committed: the new standings (for the live registry) and a chance to reload the parameters in force. */
  afterClose?: (epoch: { idx: number; standings: readonly DeviceStandingUpdate[] }) => Promise<void>;
  crash?: CrashHook;
}

export interface EpochTick {
  /** Epochs closed in this tick. */
  closed: number[];
  /** Epochs whose mint landed in this tick. */
  minted: number[];
}

const DEVICE_PAGE = 500;

/**
 * Reward epochs. The first start opens epoch 0; every tick closes each epoch whose end has
 * passed (figures, rewards, reputation and the next epoch in ONE transaction: store first) and
 * then mints every closed epoch with `Ledger.mintTo` under the deterministic batch id
 * `epoch-<idx>`, whose transactions the ledger records before sending. A crash between the
 * two leaves a closed epoch that the next tick mints; a crash mid-mint is resumed by the
 * ledger's idempotency, so nothing is minted twice or lost.
 */
export class EpochService {
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: EpochServiceOptions) {}

  start(): void {
    const periodMs = Math.min(5_000, Math.max(250, (this.o.epochSeconds * 1000) / 4));
    this.timer = setInterval(() => this.kick(), periodMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.chain.catch(() => undefined);
  }

  private kick(): void {
    if (this.stopped) return;
    this.tick().catch((err: unknown) => this.o.logger.warn({ err }, 'epoch tick failed; the next tick resumes it'));
  }

  /** One tick now (serialized with any other). */
  tick(): Promise<EpochTick> {
    const run = this.chain.then(() => this.tickNow(), () => this.tickNow());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async tickNow(): Promise<EpochTick> {
    const { store, clock } = this.o;
    const closed: number[] = [];
    let open = await store.epochs.open();
    if (open === null) {
      const now = clock.now();
      const latest = (await store.epochs.list({ limit: 1 }))[0];
      const startMs = latest?.endMs ?? now;
      await store.epochs.openEpoch({ idx: (latest?.idx ?? -1) + 1, startMs, endMs: startMs + this.o.epochSeconds * 1000 });
      open = await store.epochs.open();
    }
    while (open !== null && !this.stopped && clock.now() >= open.endMs) {
      if (await this.close(open)) closed.push(open.idx);
      open = await store.epochs.open();
    }
    const minted: number[] = [];
    for (const epoch of await store.epochs.unminted()) {
      if (this.stopped) break;
      await this.mint(epoch);
      minted.push(epoch.idx);
    }
    return { closed, minted };
  }

  private async close(epoch: EpochRecord): Promise<boolean> {
    const { store, logger } = this.o;
    const params = this.o.params();
    const plan = planEpoch(epoch, await this.inputs(epoch), params);
    const nextStart = epoch.endMs;
    const next = { idx: epoch.idx + 1, startMs: nextStart, endMs: nextStart + this.o.epochSeconds * 1000 };
    const done = await store.transaction(async (tx) => {
      const ok = await tx.epochs.close({ idx: epoch.idx, closedAtMs: this.o.clock.now(), figures: plan.figures, rewards: plan.rewards, reputation: plan.reputation, next });
      if (!ok) return false;
      for (const s of plan.standings) await tx.devices.updateStanding(s.deviceId, { tier: s.tier, reputation: s.reputation });
      await this.o.onClose?.(tx, { idx: epoch.idx, endMs: epoch.endMs });
      return true;
    });
    if (!done) return false;
    this.o.crash?.('epoch.closed');
    logSummary(logger, epoch, plan);
    await this.o.afterClose?.({ idx: epoch.idx, standings: plan.standings });
    return true;
  }

  private async mint(epoch: EpochRecord): Promise<void> {
    const { store, ledger, clock, logger } = this.o;
    const rewards = await store.epochs.rewards(epoch.idx);
    const mints = mintsOf(rewards);
    let signatures: readonly string[] = [];
    if (mints.length > 0 || epoch.treasuryIo > 0n) {
      if (epoch.memo === null) throw new Error(`epoch ${epoch.idx} is closed without a memo`);
      const result = await ledger.mintTo({ id: epochBatchId(epoch.idx), memo: epoch.memo, mints, treasury: epoch.treasuryIo, mint: 'IO' });
      signatures = result.signatures;
      this.o.crash?.('epoch.minted');
    }
    await store.epochs.markMinted(epoch.idx, signatures, clock.now());
    logger.info({ epoch: epoch.idx, recipients: mints.length, signatures: signatures.length }, 'epoch emission minted');
  }

  /** Every known device with its figures for the epoch. */
  private async inputs(epoch: EpochRecord): Promise<EpochDeviceInput[]> {
    const { store } = this.o;
    const [served, reputation, outcomes] = await Promise.all([
      store.epochs.servedByDevice(epoch.startMs, epoch.endMs),
      store.epochs.reputation(),
      store.epochs.nodeOutcomes(),
    ]);
    const inputs: EpochDeviceInput[] = [];
    let afterId: DeviceId | undefined;
    for (;;) {
      const page = await store.devices.list({ limit: DEVICE_PAGE, ...(afterId !== undefined ? { afterId } : {}) });
      for (const d of page) {
        const o = outcomes.get(d.id);
        const v = this.o.verificationsOf ? await this.o.verificationsOf(d.id) : { passed: d.verified ? 1 : 0, judged: d.verified ? 1 : 0 };
        inputs.push({
          deviceId: d.id, payout: d.payout, model: d.gpuModel, gpus: d.gpuCount, verified: d.verified,
          stake: this.o.stakeOf ? await this.o.stakeOf(d.id) : (0n as MicroIo),
          onlineMsNow: onlineMsUpTo({ ...d, lastSeenMs: Math.max(d.lastSeenMs, this.o.lastSeenLive?.(d.id) ?? 0) }, epoch.endMs), servedGpuSeconds: served.get(d.id) ?? 0, tier: d.tier,
          reputation: reputation.get(d.id) ?? null, nodesCompleted: o?.completed ?? 0, nodesEnded: o?.ended ?? 0,
          verificationsPassed: v.passed, verificationsJudged: v.judged,
        });
      }
      const last = page[page.length - 1];
      if (page.length < DEVICE_PAGE || last === undefined) return inputs;
      afterId = last.id;
    }
  }
}

/** Total online time of a device up to `atMs`: finished connections plus the current one as far as it was seen. */
export function onlineMsUpTo(d: DeviceRecord, atMs: number): number {
  if (d.status !== 'online' || d.connectedAtMs === null) return d.onlineMsTotal;
  return d.onlineMsTotal + Math.max(0, Math.min(d.lastSeenMs, atMs) - d.connectedAtMs);
}

function logSummary(logger: Logger, epoch: EpochRecord, plan: EpochPlan): void {
  logger.info(
    {
      epoch: epoch.idx, utilizationBps: plan.figures.utilizationBps, emission: plan.figures.emissionIo.toString(),
      treasury: plan.figures.treasuryIo.toString(), devices: plan.rewards.length,
    },
    'epoch closed',
  );
}
