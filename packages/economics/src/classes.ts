import type { GpuModel, MicroIo, Tier } from '@idlegrid/domain';
import { microIo } from '@idlegrid/domain';
import { assertCount, ceilDiv } from './units.ts';

/**
 * Device classes, their reward weights, tier multipliers and stake requirements: the one
 * table of "how much is a GPU worth" for emissions. All weights are integers.
 */

/** The reward classes of DESIGN's economics table. */
export type RewardClass = 'h100' | 'a100' | 'l40s' | 'rtx4090' | 'gpu' | 'cpu';

/** Class weights ×10 (DESIGN: H100/H200 10, A100 6, L40S 4, RTX4090 2.5, other GPUs 1, cpu 0.1). */
export const CLASS_WEIGHT_X10: { readonly [C in RewardClass]: number } = {
  h100: 100,
  a100: 60,
  l40s: 40,
  rtx4090: 25,
  gpu: 10,
  cpu: 1,
};

/**
 * Which class each model belongs to. DESIGN names H100/H200, A100, L40S and RTX4090; this
 * table also puts the same-generation variants with them — GH200 and H800 (H100 silicon)
 * and B200 (no class above H100 exists, and it is not an "other GPU") with H100/H200, A800
 * (export A100) with A100. Every other GPU is `gpu` (weight 1), and `cpu` is 0.1.
 */
export const MODEL_CLASS: { readonly [M in GpuModel]: RewardClass } = {
  H200: 'h100', H100: 'h100', GH200: 'h100', H800: 'h100', B200: 'h100',
  A100: 'a100', A800: 'a100',
  L40S: 'l40s',
  RTX4090: 'rtx4090',
  L40: 'gpu', L4: 'gpu', A10G: 'gpu', A10: 'gpu', A40: 'gpu', A6000: 'gpu', V100: 'gpu', T4: 'gpu',
  RTX6000ADA: 'gpu', RTX5090: 'gpu', RTX4080: 'gpu', RTX3090: 'gpu', RTX3080: 'gpu',
  cpu: 'cpu',
};

/** The class weight ×10 of one GPU slot of `model`. */
export function classWeightX10(model: GpuModel): number {
  return CLASS_WEIGHT_X10[MODEL_CLASS[model]];
}

/** Reputation tier multipliers ×100 (DESIGN: bronze 0.8, silver 1.0, gold 1.15, platinum 1.3). */
export const TIER_MULTIPLIER_X100: { readonly [T in Tier]: number } = {
  bronze: 80,
  silver: 100,
  gold: 115,
  platinum: 130,
};

export function tierMultiplierX100(tier: Tier): number {
  return TIER_MULTIPLIER_X100[tier];
}

/**
 * Stake a device must hold: `stake_per_gpu × class multiplier × GPU slots`, where the class
 * multiplier is the class weight (H100 10×, A100 6×, L40S 4×, RTX4090 2.5×, other GPUs 1×,
 * cpu 0.1×). Stake thus scales with what a slot can earn, so IO staked earns the same stipend
 * whatever the hardware, and faking a big GPU costs as much stake as owning one. Rounded up,
 * so the requirement is never below the exact product. With the defaults: H100 2,000 IO per
 * GPU, A100 1,200, L40S 800, RTX4090 500, other GPUs 200, a cpu slot 20.
 */
export function stakeRequirement(model: GpuModel, gpus: number, stakePerGpu: MicroIo): MicroIo {
  assertCount(gpus, 'gpus');
  return microIo(ceilDiv(stakePerGpu * BigInt(classWeightX10(model)) * BigInt(gpus), 10n));
}
