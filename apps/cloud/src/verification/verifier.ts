import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, DeviceId, GpuModel, RandomSource } from '@idlegrid/domain';
import type { VerifyResultMessage } from '@idlegrid/protocol';
import type { Store, VerificationOutcome } from '@idlegrid/store';
import type { DeviceRegistry, LiveDevice } from '../live/device-registry.ts';
import { checkChecksums } from './checksum-check.ts';
import {
  challengeLimits, challengeN, judgeAnswer, nextChallengeDelayMs, type ChallengePolicy, type VerificationFailure,
} from './policy.ts';

/** What the staking side hears when a device fails a challenge (slash_fraud_bps). */
export interface FraudEvent {
  deviceId: DeviceId;
  verificationId: string;
  reason: VerificationFailure;
}

export interface VerifierDeps {
  store: Store;
  registry: DeviceRegistry;
  clock: Clock;
  /** Re-challenge times and spot-checked rows. Seeds come from the OS CSPRNG. */
  random: RandomSource;
  logger: Logger;
  policy: ChallengePolicy;
  /** Mean seconds between re-challenges of a verified device (exponential; config verifySeconds). */
  recheckSeconds: number;
  /** Called once per failed challenge, after the device is suspended. */
  onFraud?: (event: FraudEvent) => void | Promise<void>;
  /** True while the device serves a lease: its re-challenge waits (a shared GPU is honestly slower). */
  isBusy?: (deviceId: DeviceId) => boolean;
}

interface Pending {
  readonly id: string;
  readonly deviceId: DeviceId;
  readonly sessionId: number;
  readonly model: GpuModel;
  readonly n: number;
  readonly seed: string;
  readonly sentAtMs: number;
  readonly deadlineMs: number;
  readonly timer: NodeJS.Timeout;
}

/** The answer may arrive this much after the deadline the agent was told and still be judged (then it fails `round_trip`). */
const DEADLINE_GRACE_MS = 1_000;
/** A busy device's re-challenge is retried after this long. */
const BUSY_RETRY_MS = 60_000;

/**
 * Proof of GPU on the control plane (DESIGN "Verification"). A device that is welcomed and
 * not verified (new, or its claimed hardware changed, or it left during a challenge) is
 * challenged at once; a verified one is re-challenged at exponentially distributed times.
 * A pass sets `verified` (the device becomes supply); a failure — wrong or forged checksums,
 * a wrong count, too slow, the deadline missed — clears it and suspends the device for good
 * (recorded in the store, so neither a restart nor a reconnect brings it back) and calls
 * `onFraud`. Every challenge and verdict is recorded in `verifications`.
 */
export class Verifier {
  private readonly pending = new Map<string, Pending>();
  private readonly byDevice = new Map<DeviceId, string>();
  private readonly rechecks = new Map<DeviceId, NodeJS.Timeout>();
  private readonly work = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly d: VerifierDeps) {
    d.registry.subscribe({ removed: (device) => this.track(this.deviceGone(device)) });
  }

  /**
   * Cancels challenges left pending by an earlier run (no verdict: the server went away, not the
   * device). A replica that joins others leaves theirs alone (`cancelStale: false`).
   */
  async start(options: { cancelStale?: boolean } = {}): Promise<void> {
    if (options.cancelStale === false) return;
    for (const stale of await this.d.store.verifications.listPending()) {
      await this.d.store.verifications.settle(stale.id, cancelled('server_restart', 'the control plane restarted during the challenge'));
    }
  }

  /** Stops every timer and waits for verdicts being recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    for (const t of this.rechecks.values()) clearTimeout(t);
    this.rechecks.clear();
    await Promise.allSettled([...this.work]);
  }

  /** The gateway welcomed `device`: challenge it now, or schedule its next re-challenge. */
  deviceReady(device: LiveDevice): void {
    this.track(this.ready(device));
  }

  /** An agent's `verify-result`. */
  onResult(device: LiveDevice, message: VerifyResultMessage): void {
    this.track(this.answer(device, message));
  }

  /** Challenges that were sent and are not answered yet. */
  get outstanding(): number {
    return this.pending.size;
  }

  private async ready(device: LiveDevice): Promise<void> {
    this.clearRecheck(device.id);
    const suspension = await this.d.store.verifications.suspension(device.id);
    if (suspension) {
      this.d.registry.setStanding(device.id, { verified: false });
      this.d.logger.warn({ deviceId: device.id, reason: suspension.reason, verificationId: suspension.verificationId }, 'suspended device connected; it stays out of supply');
      return;
    }
    const earlier = this.byDevice.get(device.id);
    if (earlier !== undefined) await this.cancel(earlier, 'reconnected', 'the device connected again during the challenge');
    // A device that dropped a challenge by reconnecting is challenged again at once.
    if (!device.verified || earlier !== undefined) await this.issue(device);
    else this.scheduleRecheck(device.id);
  }

  private async issue(device: LiveDevice): Promise<void> {
    // Only the replica holding the connection challenges a device (its answer comes back there).
    const live = this.d.registry.get(device.id);
    if (this.stopped || live?.sessionId !== device.sessionId || live.owner !== undefined) return;
    const model = device.gpuModel;
    const n = challengeN(model, this.d.policy);
    const { deadlineMs } = challengeLimits(model, n, this.d.policy.allowanceMs);
    const id = `vrf_${randomBytes(10).toString('hex')}`;
    const seed = randomBytes(32).toString('hex');
    await this.d.store.verifications.create({ id, deviceId: device.id, gpuModel: model, gpuCount: device.slots, n, seed, issuedAtMs: this.d.clock.now(), deadlineMs });
    const timer = setTimeout(() => this.track(this.expire(id)), deadlineMs + DEADLINE_GRACE_MS);
    timer.unref();
    const sentAtMs = this.d.clock.now();
    this.pending.set(id, { id, deviceId: device.id, sessionId: device.sessionId, model, n, seed, sentAtMs, deadlineMs, timer });
    this.byDevice.set(device.id, id);
    const sent = device.send({ type: 'verify', challengeId: id, seed, n, deadlineMs });
    this.d.logger.info({ deviceId: device.id, verificationId: id, model, n, deadlineMs, sent }, 'verification challenge sent');
    if (!sent) await this.cancel(id, 'disconnected', 'the connection closed before the challenge was sent');
  }

  private async answer(device: LiveDevice, message: VerifyResultMessage): Promise<void> {
    const p = this.pending.get(message.challengeId);
    if (!p || p.deviceId !== device.id || p.sessionId !== device.sessionId) {
      this.d.logger.info({ deviceId: device.id, challengeId: message.challengeId }, 'verify-result for no challenge outstanding on this connection; ignored');
      return;
    }
    const roundTripMs = this.d.clock.now() - p.sentAtMs;
    this.forget(p);
    const checksums = await checkChecksums({
      seed: p.seed, n: p.n, checksums: message.checksums, spotSeed: Math.floor(this.d.random() * 2 ** 32),
    });
    const judgement = judgeAnswer({ model: p.model, n: p.n, elapsedMs: message.elapsedMs, roundTripMs, allowanceMs: this.d.policy.allowanceMs, checksums });
    const outcome: VerificationOutcome = {
      verdict: judgement.ok ? 'passed' : 'failed',
      answeredAtMs: p.sentAtMs + roundTripMs,
      elapsedMs: message.elapsedMs,
      roundTripMs,
      limitMs: judgement.limitMs,
      reason: judgement.ok ? null : judgement.reason,
      detail: judgement.ok ? null : judgement.detail,
    };
    if (judgement.ok) await this.pass(p, outcome);
    else await this.fail(p, outcome, judgement.reason);
  }

  private async pass(p: Pending, outcome: VerificationOutcome): Promise<void> {
    await this.d.store.transaction(async (tx) => {
      await tx.verifications.settle(p.id, outcome);
      await tx.devices.updateStanding(p.deviceId, { verified: true });
    });
    this.d.logger.info({ deviceId: p.deviceId, verificationId: p.id, model: p.model, n: p.n, elapsedMs: outcome.elapsedMs, limitMs: outcome.limitMs, roundTripMs: outcome.roundTripMs }, 'verification passed');
    const live = this.d.registry.get(p.deviceId);
    if (live?.sessionId !== p.sessionId) return;
    this.d.registry.setStanding(p.deviceId, { verified: true });
    this.scheduleRecheck(p.deviceId);
  }

  private async fail(p: Pending, outcome: VerificationOutcome, reason: VerificationFailure): Promise<void> {
    const atMs = this.d.clock.now();
    await this.d.store.transaction(async (tx) => {
      await tx.verifications.settle(p.id, outcome);
      await tx.devices.updateStanding(p.deviceId, { verified: false });
      await tx.verifications.suspend({ deviceId: p.deviceId, verificationId: p.id, reason, atMs });
      await tx.events.append({ kind: 'device.suspended', subject: p.deviceId, data: { verificationId: p.id, reason, detail: outcome.detail, model: p.model, n: p.n }, atMs });
    });
    this.clearRecheck(p.deviceId);
    this.d.registry.setStanding(p.deviceId, { verified: false });
    this.d.logger.warn({ deviceId: p.deviceId, verificationId: p.id, model: p.model, n: p.n, reason, detail: outcome.detail }, 'verification failed; device suspended');
    try {
      await this.d.onFraud?.({ deviceId: p.deviceId, verificationId: p.id, reason });
    } catch (err) {
      this.d.logger.error({ err, deviceId: p.deviceId, verificationId: p.id }, 'the fraud callback failed');
    }
  }

  private async expire(id: string): Promise<void> {
    const p = this.pending.get(id);
    if (!p) return;
    this.forget(p);
    const roundTripMs = this.d.clock.now() - p.sentAtMs;
    const { limitMs } = challengeLimits(p.model, p.n, this.d.policy.allowanceMs);
    await this.fail(p, {
      verdict: 'failed', answeredAtMs: null, elapsedMs: null, roundTripMs: null, limitMs, reason: 'deadline',
      detail: `no answer ${roundTripMs} ms after the challenge (deadline ${p.deadlineMs} ms)`,
    }, 'deadline');
  }

  /** The device's connection closed: an open challenge is cancelled and the device must pass again when it returns. */
  private async deviceGone(device: LiveDevice): Promise<void> {
    this.clearRecheck(device.id);
    const id = this.byDevice.get(device.id);
    if (id === undefined || this.pending.get(id)?.sessionId !== device.sessionId) return;
    await this.cancel(id, 'disconnected', 'the device disconnected during the challenge');
    await this.d.store.devices.updateStanding(device.id, { verified: false });
  }

  private async cancel(id: string, reason: string, detail: string): Promise<void> {
    const p = this.pending.get(id);
    if (p) this.forget(p);
    await this.d.store.verifications.settle(id, cancelled(reason, detail));
  }

  private forget(p: Pending): void {
    clearTimeout(p.timer);
    this.pending.delete(p.id);
    if (this.byDevice.get(p.deviceId) === p.id) this.byDevice.delete(p.deviceId);
  }

  private scheduleRecheck(deviceId: DeviceId, delayMs = nextChallengeDelayMs(this.d.recheckSeconds, this.d.random)): void {
    if (this.stopped) return;
    this.clearRecheck(deviceId);
    // setTimeout holds at most 2³¹−1 ms (≈ 24.8 days); a longer draw re-draws when it fires.
    const timer = setTimeout(() => {
      this.rechecks.delete(deviceId);
      const live = this.d.registry.get(deviceId);
      if (!live) return;
      if (this.d.isBusy?.(deviceId)) this.scheduleRecheck(deviceId, BUSY_RETRY_MS);
      else this.track(this.issue(live));
    }, Math.min(delayMs, 2 ** 31 - 1));
    timer.unref();
    this.rechecks.set(deviceId, timer);
  }

  private clearRecheck(deviceId: DeviceId): void {
    const t = this.rechecks.get(deviceId);
    if (t) clearTimeout(t);
    this.rechecks.delete(deviceId);
  }

  /** Runs background work, logging a failure instead of leaving a floating promise. */
  private track(work: Promise<void>): void {
    const tracked = work
      .catch((err: unknown) => this.d.logger.error({ err }, 'verification step failed'))
      .finally(() => this.work.delete(tracked));
    this.work.add(tracked);
  }
}

function cancelled(reason: string, detail: string): VerificationOutcome {
  return { verdict: 'cancelled', answeredAtMs: null, elapsedMs: null, roundTripMs: null, limitMs: null, reason, detail };
}
