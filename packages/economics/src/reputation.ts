import type { MicroIo, Tier } from '@idlegrid/domain';
import { assertCount, assertNonNegative, assertPpm, PPM, PPM_N } from './units.ts';

/**
 * Reputation (DESIGN "Economics"): an integer score 0–1000
 *
 *   400·uptime (30-day EWMA) + 300·lease completion ratio + 200·verification pass ratio
 *   + 100·min(1, stake ÷ requirement)
 *
 * with every ratio in parts per million (ppm) so the score is exact and the same on every
 * machine. Tiers: platinum ≥ 900, gold ≥ 800, silver ≥ 600, else bronze.
 */

export interface ReputationInputs {
  /** Uptime EWMA in ppm (see `updateUptimeEwma`). */
  readonly uptimeEwmaPpm: number;
  /** Leases completed ÷ leases assigned, in ppm (see `ratioPpm` for "no leases yet"). */
  readonly leaseCompletionPpm: number;
  /** Verification challenges passed ÷ challenges sent, in ppm. */
  readonly verificationPassPpm: number;
  /** The device's current stake. */
  readonly stake: MicroIo;
  /** The stake its GPUs require (`stakeRequirement`); 0 counts as fully staked. */
  readonly stakeRequirement: MicroIo;
}

export const REPUTATION_WEIGHTS = { uptime: 400, leaseCompletion: 300, verificationPass: 200, stake: 100 } as const;

/** Lowest score of each tier above bronze. */
export const TIER_THRESHOLDS = { silver: 600, gold: 800, platinum: 900 } as const;

/** min(1, stake ÷ requirement) in ppm, rounded down. */
export function stakeRatioPpm(stake: MicroIo, requirement: MicroIo): number {
  assertNonNegative(stake, 'stake');
  assertNonNegative(requirement, 'stakeRequirement');
  if (requirement === 0n || stake >= requirement) return PPM;
  return Number((stake * PPM_N) / requirement);
}

/**
 * The score, 0–1000: the weighted sum of the ppm ratios divided by 10⁶ and rounded down
 * once (so 1000 needs every ratio at 100 %, and no component's rounding adds up).
 */
export function reputationScore(inputs: ReputationInputs): number {
  assertPpm(inputs.uptimeEwmaPpm, 'uptimeEwmaPpm');
  assertPpm(inputs.leaseCompletionPpm, 'leaseCompletionPpm');
  assertPpm(inputs.verificationPassPpm, 'verificationPassPpm');
  const w = REPUTATION_WEIGHTS;
  const sum =
    w.uptime * inputs.uptimeEwmaPpm +
    w.leaseCompletion * inputs.leaseCompletionPpm +
    w.verificationPass * inputs.verificationPassPpm +
    w.stake * stakeRatioPpm(inputs.stake, inputs.stakeRequirement);
  // ≤ 1000 × 10⁶, exact in a double.
  return Math.floor(sum / PPM);
}

/** The tier of a score: platinum ≥ 900, gold ≥ 800, silver ≥ 600, else bronze. */
export function tierForScore(score: number): Tier {
  if (!Number.isInteger(score) || score < 0 || score > 1000) throw new RangeError(`score must be an integer from 0 to 1000, got ${score}`);
  if (score >= TIER_THRESHOLDS.platinum) return 'platinum';
  if (score >= TIER_THRESHOLDS.gold) return 'gold';
  if (score >= TIER_THRESHOLDS.silver) return 'silver';
  return 'bronze';
}

/** Time constant of the uptime EWMA: 30 days. */
export const UPTIME_EWMA_WINDOW_SECONDS = 30 * 24 * 3600;

/** An epoch's uptime observation in ppm: online seconds ÷ epoch seconds (capped at 100 %). */
export function uptimeObservationPpm(uptimeSeconds: number, epochSeconds: number): number {
  assertCount(uptimeSeconds, 'uptimeSeconds');
  assertCount(epochSeconds, 'epochSeconds');
  if (epochSeconds === 0) throw new RangeError('epochSeconds must be positive');
  if (uptimeSeconds >= epochSeconds) return PPM;
  return Number((BigInt(uptimeSeconds) * PPM_N) / BigInt(epochSeconds));
}

/**
 * One EWMA step per epoch with a 30-day time constant that does not depend on the epoch
 * length: α = epochSeconds ÷ 30 days (capped at 1), next = prev + α·(observed − prev).
 * An observation's weight decays like e^(−age/30 days) (half-life ≈ 20.8 days), whether
 * epochs are an hour (α = 1/720) or a minute on a dev network (α = 1/43200).
 *
 * Integer ppm, rounded toward the observation (ceil going up, floor going down): every
 * step moves at least 1 ppm while there is a gap and never overshoots, so a device that
 * stays online reaches exactly 1,000,000 rather than stalling one ppm below it.
 * A new device starts at 0 and earns its uptime.
 */
export function updateUptimeEwma(previousPpm: number, observedPpm: number, epochSeconds: number, windowSeconds = UPTIME_EWMA_WINDOW_SECONDS): number {
  assertPpm(previousPpm, 'previousPpm');
  assertPpm(observedPpm, 'observedPpm');
  assertCount(epochSeconds, 'epochSeconds');
  assertCount(windowSeconds, 'windowSeconds');
  if (epochSeconds === 0 || windowSeconds === 0) throw new RangeError('epochSeconds and windowSeconds must be positive');
  if (epochSeconds >= windowSeconds) return observedPpm;
  const gap = BigInt(observedPpm - previousPpm);
  const e = BigInt(epochSeconds);
  const w = BigInt(windowSeconds);
  const step = gap >= 0n ? (gap * e + w - 1n) / w : -((-gap * e + w - 1n) / w);
  return previousPpm + Number(step);
}
