import type { GpuModel, RandomSource } from '@idlegrid/domain';
import { checkTiming, type ChallengeVerdict, type TimingOptions } from '@idlegrid/economics';

/** Why a challenge failed: a checksum failure of economics' verifyRowChecksums, or a timing one. */
export type VerificationFailure = 'count' | 'malformed' | 'freivalds' | 'spot_check' | 'too_slow' | 'round_trip' | 'deadline';

/** The control plane's settings for challenges (config verifyGpuN, verifyCpuN, verifyAllowanceMs). */
export interface ChallengePolicy {
  readonly gpuN: number;
  readonly cpuN: number;
  /** Added to the model's time limit for the agent's derivation, checksums and the transport, both ways. */
  readonly allowanceMs: number;
}

/**
 * Timing for the cpu class is deliberately lax (30× the expected rate plus 2 s): an honest
 * agent on a loaded 2-core CI machine must never fail, and nothing is gained by spoofing
 * `cpu` (the cheapest class, the smallest reward weight), so a lax limit costs nothing.
 */
export const CPU_TIMING: TimingOptions = { slack: 30, overheadMs: 2_000 };
/**
 * GPUs report the product time measured with CUDA events around the product alone, so the
 * fixed overhead only covers timer noise: 50 ms. At n = 8192 an H100 needs ≈ 2.4 ms.
 */
export const GPU_TIMING: TimingOptions = { slack: 3, overheadMs: 50 };

export function timingOptions(model: GpuModel): TimingOptions {
  return model === 'cpu' ? CPU_TIMING : GPU_TIMING;
}

export function challengeN(model: GpuModel, policy: ChallengePolicy): number {
  return model === 'cpu' ? policy.cpuN : policy.gpuN;
}

export interface ChallengeLimits {
  /** The slowest reported product time that passes for the model. */
  readonly limitMs: number;
  /** What the agent is told and the server waits: limit + allowance, whole ms. */
  readonly deadlineMs: number;
}

export function challengeLimits(model: GpuModel, n: number, allowanceMs: number): ChallengeLimits {
  const { limitMs } = checkTiming(model, n, 0, timingOptions(model));
  return { limitMs, deadlineMs: Math.ceil(limitMs + allowanceMs) };
}

export interface AnswerFacts {
  readonly model: GpuModel;
  readonly n: number;
  /** The product time the agent reported. */
  readonly elapsedMs: number;
  /** Challenge sent → answer received, by the server's clock. */
  readonly roundTripMs: number;
  readonly allowanceMs: number;
  /** The checksum check (economics verifyRowChecksums). */
  readonly checksums: ChallengeVerdict;
}

export type Judgement =
  | { readonly ok: true; readonly limitMs: number }
  | { readonly ok: false; readonly limitMs: number; readonly reason: VerificationFailure; readonly detail: string };

/**
 * The verdict on an answer: the checksums must be right (all rows, Freivalds, spot-checked
 * digests), the reported product time within the claimed model's limit, and the round trip
 * the server saw within limit + allowance (which bounds an under-reported time).
 */
export function judgeAnswer(f: AnswerFacts): Judgement {
  const timing = checkTiming(f.model, f.n, f.elapsedMs, timingOptions(f.model));
  const limitMs = timing.limitMs;
  if (!f.checksums.ok) {
    const row = f.checksums.row === undefined ? '' : ` (row ${f.checksums.row})`;
    return { ok: false, limitMs, reason: f.checksums.failure, detail: `${f.checksums.detail}${row}` };
  }
  if (!timing.ok) {
    return {
      ok: false, limitMs, reason: 'too_slow',
      detail: `product took ${round(f.elapsedMs)} ms; a ${f.model} must finish n = ${f.n} within ${round(limitMs)} ms (${round(timing.ratio)}× the expected time)`,
    };
  }
  if (f.roundTripMs > limitMs + f.allowanceMs) {
    return {
      ok: false, limitMs, reason: 'round_trip',
      detail: `answer came ${Math.round(f.roundTripMs)} ms after the challenge; limit ${round(limitMs)} ms + allowance ${f.allowanceMs} ms`,
    };
  }
  return { ok: true, limitMs };
}

/** Milliseconds to the next re-challenge: exponential with mean `meanSeconds` (memoryless: a device cannot predict it). */
export function nextChallengeDelayMs(meanSeconds: number, random: RandomSource): number {
  const u = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.max(1, Math.round(-Math.log(1 - u) * meanSeconds * 1000));
}

const round = (x: number): number => Math.round(x * 100) / 100;
