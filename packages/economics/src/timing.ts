import type { GpuModel } from '@idlegrid/domain';

/**
 * The timing half of proof of GPU: a challenge of size n costs 2·n³ operations; a device
 * that takes far longer than its claimed model needs is not that model ("a device claiming
 * an H100 that computes at CPU speed fails"). Pure: the caller supplies the elapsed time
 * (the agent's report, bounded by what the server itself saw between sending the challenge
 * and receiving the answer).
 *
 * The rates are ROUGH, on purpose conservative: about half of each card's dense FP16
 * tensor-core peak with FP32 accumulation (what `torch.matmul` on fp16 inputs reaches for
 * n ≥ 4096), rounded down. `cpu` is the plain TypeScript kernel of freivalds.ts on one core
 * (measured ≈ 5·10⁸ op/s on the development machine; 10⁸ leaves room for slow hosts).
 * Tune from measurements; they decide pass/fail only together with `slack`.
 */
export const EXPECTED_OPS_PER_SECOND: { readonly [M in GpuModel]: number } = {
  B200: 1.0e15,
  H200: 4.5e14,
  H100: 4.5e14,
  GH200: 4.5e14,
  H800: 4.5e14,
  A100: 1.5e14,
  A800: 1.5e14,
  L40S: 1.5e14,
  RTX6000ADA: 1.5e14,
  RTX5090: 1.0e14,
  L40: 8.0e13,
  RTX4090: 8.0e13,
  A6000: 7.0e13,
  A40: 7.0e13,
  V100: 6.0e13,
  A10: 5.0e13,
  RTX4080: 4.5e13,
  L4: 4.0e13,
  RTX3090: 3.5e13,
  A10G: 3.0e13,
  RTX3080: 3.0e13,
  T4: 2.5e13,
  cpu: 1.0e8,
};

/**
 * Suggested challenge sizes: big enough on GPUs that the product (not launch overhead)
 * dominates and a CPU needs many seconds (n = 8192: 1.1·10¹² op, ≈ 2.4 ms on an H100,
 * over half an hour in plain TypeScript, ≥ 10 s even with a good CPU BLAS); small for the cpu class.
 */
export const RECOMMENDED_CHALLENGE_N = { cpu: 256, gpu: 8192 } as const;

export function recommendedChallengeN(model: GpuModel): number {
  return model === 'cpu' ? RECOMMENDED_CHALLENGE_N.cpu : RECOMMENDED_CHALLENGE_N.gpu;
}

/** Milliseconds `model` should need for the 2·n³ operations of a size-n product. */
export function expectedMultiplyMs(model: GpuModel, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  return ((2 * n ** 3) / EXPECTED_OPS_PER_SECOND[model]) * 1000;
}

export interface TimingOptions {
  /** How many times the expected time still passes (default 3). */
  readonly slack?: number;
  /** Fixed allowance for kernel launch, transfers and timer noise, ms (default 250). */
  readonly overheadMs?: number;
}

export interface TimingVerdict {
  readonly ok: boolean;
  readonly expectedMs: number;
  /** expectedMs × slack + overheadMs: the slowest time that passes. */
  readonly limitMs: number;
  /** elapsedMs ÷ expectedMs: how many times slower than the claimed model's rate. */
  readonly ratio: number;
}

/** Passes when `elapsedMs` ≤ expected × slack + overhead for the claimed model. */
export function checkTiming(model: GpuModel, n: number, elapsedMs: number, options: TimingOptions = {}): TimingVerdict {
  const slack = options.slack ?? 3;
  const overheadMs = options.overheadMs ?? 250;
  if (!(elapsedMs >= 0) || !Number.isFinite(elapsedMs)) throw new RangeError(`elapsedMs must be a finite non-negative number, got ${elapsedMs}`);
  if (!(slack >= 1) || !(overheadMs >= 0)) throw new RangeError('slack must be ≥ 1 and overheadMs ≥ 0');
  const expectedMs = expectedMultiplyMs(model, n);
  const limitMs = expectedMs * slack + overheadMs;
  return { ok: elapsedMs <= limitMs, expectedMs, limitMs, ratio: elapsedMs / expectedMs };
}
