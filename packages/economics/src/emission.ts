import { microIo, type MicroIo } from '@idlegrid/domain';
import type { Params } from './params.ts';
import { assertBps, assertCount, assertNonNegative, BPS_DENOMINATOR_N } from './units.ts';

/**
 * Emission per epoch (DESIGN "Economics"):
 *
 *   E = max × (floor + (1 − floor) × U),  U = served GPU-seconds ÷ available GPU-seconds
 *
 * A busy network mints more, an idle one less (never below `floor` of `max`).
 */

/** Utilization as an exact fraction `served / available` (already clamped to [0, 1]). */
export interface Utilization {
  readonly served: bigint;
  /** > 0. With nothing available, the fraction is 0/1. */
  readonly available: bigint;
}

export interface EpochUsage {
  /** GPU-seconds served to leases in the epoch (integer ≥ 0). */
  readonly servedGpuSeconds: number;
  /** GPU-seconds that eligible slots were available in the epoch (integer ≥ 0). */
  readonly availableGpuSeconds: number;
}

export interface Emission {
  /** IO base units to mint this epoch. */
  readonly amount: MicroIo;
  /** U as an exact fraction. */
  readonly utilization: Utilization;
  /** U in basis points, rounded down (for display and the estimator). */
  readonly utilizationBps: number;
}

/**
 * U clamped to [0, 1]: served beyond available (clock skew, late reports) counts as 1,
 * nothing available counts as 0.
 */
export function utilizationOf(usage: EpochUsage): Utilization {
  assertCount(usage.servedGpuSeconds, 'servedGpuSeconds');
  assertCount(usage.availableGpuSeconds, 'availableGpuSeconds');
  if (usage.availableGpuSeconds === 0) return { served: 0n, available: 1n };
  const available = BigInt(usage.availableGpuSeconds);
  const served = BigInt(usage.servedGpuSeconds);
  return { served: served > available ? available : served, available };
}

/**
 * E for one epoch, exact: ⌊max × (floor × a + (10000 − floor) × s) ÷ (10000 × a)⌋ with
 * s/a = U. Rounded down once, at the end; the fraction of a base unit is simply not minted
 * (nobody is owed it, so conservation is untouched).
 */
export function epochEmission(
  params: Pick<Params, 'emission_max_per_epoch' | 'emission_floor_bps'>,
  usage: EpochUsage,
): Emission {
  assertNonNegative(params.emission_max_per_epoch, 'emission_max_per_epoch');
  assertBps(params.emission_floor_bps, 'emission_floor_bps');
  const u = utilizationOf(usage);
  const floor = BigInt(params.emission_floor_bps);
  const numerator = floor * u.available + (BPS_DENOMINATOR_N - floor) * u.served;
  const amount = (params.emission_max_per_epoch * numerator) / (BPS_DENOMINATOR_N * u.available);
  return {
    amount: microIo(amount),
    utilization: u,
    utilizationBps: Number((u.served * BPS_DENOMINATOR_N) / u.available),
  };
}

/** E for a utilization given in basis points (the estimator's input), rounded down. */
export function emissionAtUtilizationBps(
  params: Pick<Params, 'emission_max_per_epoch' | 'emission_floor_bps'>,
  utilizationBps: number,
): MicroIo {
  assertBps(utilizationBps, 'utilizationBps');
  return epochEmission(params, { servedGpuSeconds: utilizationBps, availableGpuSeconds: 10_000 }).amount;
}
