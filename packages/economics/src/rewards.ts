import { microIo, type DeviceId, type GpuModel, type MicroIo, type Tier } from '@idlegrid/domain';
import { classWeightX10, stakeRequirement, tierMultiplierX100 } from './classes.ts';
import type { Params } from './params.ts';
import { prorate } from './prorate.ts';
import { applyBps, assertBps, assertCount, assertNonNegative } from './units.ts';

/**
 * Splitting one epoch's emission E (DESIGN "Economics"):
 * - stipend pool = ⌊E × stipend_share_bps ÷ 10000⌋, split over eligible devices by
 *   GPU slots × class weight × uptime fraction × tier multiplier;
 * - usage pool = E − stipend pool, split by served GPU-seconds × class weight × tier multiplier.
 * Every share is rounded down; the leftovers of both pools (and a whole pool when nobody
 * qualifies for it) go to treasury. Σ stipends + Σ bonuses + treasury = E to the base unit,
 * and the result depends only on the inputs (not on their order, except for output order).
 */

export interface RewardDevice {
  readonly deviceId: DeviceId;
  readonly model: GpuModel;
  /** GPU slots the device offers (≥ 1 for a device that should earn). Weights are per slot. */
  readonly gpus: number;
  /** Passed its latest proof-of-GPU challenge. */
  readonly verified: boolean;
  readonly stake: MicroIo;
  /** Seconds the device was online in the epoch (capped at the epoch length). */
  readonly uptimeSeconds: number;
  /** GPU-seconds it served to leases in the epoch (capped at gpus × epoch length). */
  readonly servedGpuSeconds: number;
  /** Its reputation tier at the start of the epoch. */
  readonly tier: Tier;
}

export interface RewardEpoch {
  /** Epoch length in seconds (> 0). */
  readonly epochSeconds: number;
  /** What `epochEmission` minted for the epoch. */
  readonly emission: MicroIo;
  readonly params: Pick<Params, 'stipend_share_bps' | 'stake_per_gpu'>;
}

/** Why a device gets no stipend (and, for the first two, no bonus). */
export type IneligibleReason = 'unverified' | 'under_staked' | 'low_uptime';

export interface DeviceReward {
  readonly deviceId: DeviceId;
  readonly stipend: MicroIo;
  readonly bonus: MicroIo;
  /** Empty when the device qualified for the stipend. */
  readonly ineligible: readonly IneligibleReason[];
}

export interface EpochRewards {
  /** One entry per input device, in input order. */
  readonly devices: readonly DeviceReward[];
  readonly stipendPool: MicroIo;
  readonly usagePool: MicroIo;
  /** Rounding leftovers of both pools plus any pool nobody qualified for. */
  readonly treasury: MicroIo;
}

/** Minimum uptime for the stipend: 50 % of the epoch. */
export const MIN_UPTIME_BPS = 5_000;

/**
 * Why `device` is not eligible (empty = eligible for the stipend). The bonus needs only
 * `verified` and enough stake: served GPU-seconds already prove the device was there, so a
 * device that joined late but served still earns its usage bonus.
 */
export function ineligibility(device: RewardDevice, epochSeconds: number, stakePerGpu: MicroIo): IneligibleReason[] {
  const reasons: IneligibleReason[] = [];
  if (!device.verified) reasons.push('unverified');
  if (device.stake < stakeRequirement(device.model, device.gpus, stakePerGpu)) reasons.push('under_staked');
  // uptime ≥ 50 % of the epoch, compared exactly: 2 × uptime ≥ epoch.
  if (BigInt(Math.min(device.uptimeSeconds, epochSeconds)) * 10_000n < BigInt(epochSeconds) * BigInt(MIN_UPTIME_BPS)) {
    reasons.push('low_uptime');
  }
  return reasons;
}

function validate(devices: readonly RewardDevice[], epoch: RewardEpoch): void {
  assertCount(epoch.epochSeconds, 'epochSeconds');
  if (epoch.epochSeconds === 0) throw new RangeError('epochSeconds must be positive');
  assertNonNegative(epoch.emission, 'emission');
  assertBps(epoch.params.stipend_share_bps, 'stipend_share_bps');
  assertNonNegative(epoch.params.stake_per_gpu, 'stake_per_gpu');
  const seen = new Set<string>();
  for (const d of devices) {
    if (seen.has(d.deviceId)) throw new RangeError(`device ${d.deviceId} appears twice`);
    seen.add(d.deviceId);
    assertCount(d.gpus, `gpus of ${d.deviceId}`);
    assertCount(d.uptimeSeconds, `uptimeSeconds of ${d.deviceId}`);
    assertCount(d.servedGpuSeconds, `servedGpuSeconds of ${d.deviceId}`);
    assertNonNegative(d.stake, `stake of ${d.deviceId}`);
  }
}

/** Stipend weight: gpus × class weight ×10 × min(uptime, epoch) × tier ×100 (the uptime fraction's common denominator drops out). */
export function stipendWeight(device: RewardDevice, epochSeconds: number): bigint {
  const uptime = Math.min(device.uptimeSeconds, epochSeconds);
  return BigInt(device.gpus) * BigInt(classWeightX10(device.model)) * BigInt(uptime) * BigInt(tierMultiplierX100(device.tier));
}

/** Bonus weight: min(served, gpus × epoch) × class weight ×10 × tier ×100. */
export function bonusWeight(device: RewardDevice, epochSeconds: number): bigint {
  const cap = BigInt(device.gpus) * BigInt(epochSeconds);
  const served = BigInt(device.servedGpuSeconds);
  return (served < cap ? served : cap) * BigInt(classWeightX10(device.model)) * BigInt(tierMultiplierX100(device.tier));
}

/** Splits `epoch.emission` over `devices`; see the module comment for the rules. */
export function splitEpochRewards(devices: readonly RewardDevice[], epoch: RewardEpoch): EpochRewards {
  validate(devices, epoch);
  const stipendPool = applyBps(epoch.emission, epoch.params.stipend_share_bps);
  const usagePool = epoch.emission - stipendPool;
  const reasons = devices.map((d) => ineligibility(d, epoch.epochSeconds, epoch.params.stake_per_gpu));
  const stipends = prorate(stipendPool, devices.map((d, i) => (reasons[i]?.length === 0 ? stipendWeight(d, epoch.epochSeconds) : 0n)));
  const bonuses = prorate(
    usagePool,
    devices.map((d, i) => {
      const r = reasons[i] ?? [];
      return r.includes('unverified') || r.includes('under_staked') ? 0n : bonusWeight(d, epoch.epochSeconds);
    }),
  );
  return {
    devices: devices.map((d, i) => ({
      deviceId: d.deviceId,
      stipend: microIo(stipends.shares[i] ?? 0n),
      bonus: microIo(bonuses.shares[i] ?? 0n),
      ineligible: reasons[i] ?? [],
    })),
    stipendPool: microIo(stipendPool),
    usagePool: microIo(usagePool),
    treasury: microIo(stipends.remainder + bonuses.remainder),
  };
}
