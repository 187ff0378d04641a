import type { Address, DeviceId, GpuModel, MicroIo, Tier } from '@idlegrid/domain';
import {
  epochEmission, formatParam, PARAM_NAMES, ratioPpm, reputationScore, splitEpochRewards, stakeRequirement, tierForScore,
  updateUptimeEwma, uptimeObservationPpm, type Params, type RewardDevice,
} from '@idlegrid/economics';
import { merkleRoot, rewardLeafHash, type RewardLeaf } from '@idlegrid/protocol';
import type { DeviceReputation, EpochFigures, EpochReward } from '@idlegrid/store';

/**
 * Closing one reward epoch, as pure arithmetic: from each device's figures in the epoch
 * (online time, GPU-seconds served, stake, verification) to the emission, every device's
 * stipend and usage bonus, the treasury remainder, the Merkle root of the rewards, and each
 * device's new reputation (uptime EWMA, score, tier). No I/O: the epoch service gathers the
 * inputs from the store and writes the result in one transaction.
 */

export interface EpochDeviceInput {
  readonly deviceId: DeviceId;
  readonly payout: Address;
  readonly model: GpuModel;
  readonly gpus: number;
  readonly verified: boolean;
  /** Stake that counts for eligibility (not in an unstake cooldown). */
  readonly stake: MicroIo;
  /** The device's total online milliseconds now (finished connections + the current one). */
  readonly onlineMsNow: number;
  /** GPU-seconds served in the epoch (meter records of the batches cut in it). */
  readonly servedGpuSeconds: number;
  /** Tier at the start of the epoch (the reward multiplier). */
  readonly tier: Tier;
  /** Carried from the previous epoch; null for a device never seen at an epoch close. */
  readonly reputation: DeviceReputation | null;
  /** Lease nodes released normally ÷ all ended ones, so far. */
  readonly nodesCompleted: number;
  readonly nodesEnded: number;
  /** Verification challenges passed ÷ all judged, so far. */
  readonly verificationsPassed: number;
  readonly verificationsJudged: number;
}

export interface EpochWindow {
  readonly idx: number;
  readonly startMs: number;
  readonly endMs: number;
}

export interface DeviceStandingUpdate {
  readonly deviceId: DeviceId;
  readonly reputation: number;
  readonly tier: Tier;
}

export interface EpochPlan {
  readonly figures: EpochFigures & { params: Record<string, string> };
  /** Only devices that were online or served in the epoch get a row (possibly zero). */
  readonly rewards: readonly EpochReward[];
  readonly reputation: readonly DeviceReputation[];
  readonly standings: readonly DeviceStandingUpdate[];
}

/** The memo on every mint transaction of an epoch. */
export function epochMemo(idx: number, root: string): string {
  return `idlegrid:epoch:${idx}:${root}`;
}

/** The deterministic mint batch id of an epoch. */
export function epochBatchId(idx: number): string {
  return `epoch-${idx}`;
}

export function rewardLeaf(r: EpochReward): RewardLeaf {
  return {
    epoch: r.epochIdx, idx: r.idx, device: r.deviceId, payout: r.payout, stipendIo: r.stipendIo.toString(), bonusIo: r.bonusIo.toString(),
    uptimeSeconds: r.uptimeSeconds, servedGpuSeconds: r.servedGpuSeconds, tier: r.tier,
  };
}

/** Seconds the device was online in the epoch: online time since the last close's mark, at most the epoch. */
export function uptimeInEpoch(device: Pick<EpochDeviceInput, 'onlineMsNow' | 'reputation'>, epochMs: number): number {
  const since = device.onlineMsNow - (device.reputation?.onlineMsMark ?? 0);
  return Math.floor(Math.max(0, Math.min(since, epochMs)) / 1000);
}

export function planEpoch(window: EpochWindow, devices: readonly EpochDeviceInput[], params: Params): EpochPlan {
  const epochMs = window.endMs - window.startMs;
  if (!(epochMs >= 1000)) throw new RangeError(`an epoch must last at least one second, got ${epochMs} ms`);
  const epochSeconds = Math.floor(epochMs / 1000);
  const sorted = [...devices].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  const withUptime = sorted.map((d) => ({
    d,
    uptimeSeconds: uptimeInEpoch(d, epochMs),
    servedGpuSeconds: Math.min(d.servedGpuSeconds, d.gpus * epochSeconds),
  }));
  const active = withUptime.filter((x) => x.uptimeSeconds > 0 || x.servedGpuSeconds > 0);

  // Available = the slot-seconds verified devices were online; served can't exceed it (U ≤ 1 is clamped anyway).
  const availableGpuSeconds = active.reduce((s, x) => s + (x.d.verified ? x.uptimeSeconds * x.d.gpus : 0), 0);
  const servedGpuSeconds = active.reduce((s, x) => s + x.servedGpuSeconds, 0);
  const emission = epochEmission(params, { servedGpuSeconds, availableGpuSeconds });

  const rewardDevices: RewardDevice[] = active.map((x) => ({
    deviceId: x.d.deviceId, model: x.d.model, gpus: x.d.gpus, verified: x.d.verified, stake: x.d.stake,
    uptimeSeconds: x.uptimeSeconds, servedGpuSeconds: x.servedGpuSeconds, tier: x.d.tier,
  }));
  const split = splitEpochRewards(rewardDevices, { epochSeconds, emission: emission.amount, params });
  const rewards: EpochReward[] = active.map((x, i) => {
    const r = split.devices[i];
    if (r === undefined || r.deviceId !== x.d.deviceId) throw new Error('reward split out of order');
    return {
      epochIdx: window.idx, deviceId: x.d.deviceId, idx: i, payout: x.d.payout, gpuModel: x.d.model, gpus: x.d.gpus, verified: x.d.verified,
      stakeIo: x.d.stake, uptimeSeconds: x.uptimeSeconds, servedGpuSeconds: x.servedGpuSeconds, tier: x.d.tier,
      stipendIo: r.stipend, bonusIo: r.bonus, ineligible: [...r.ineligible],
    };
  });
  const root = merkleRoot(rewards.map((r) => rewardLeafHash(rewardLeaf(r))));

  const reputation: DeviceReputation[] = [];
  const standings: DeviceStandingUpdate[] = [];
  for (const x of withUptime) {
    const observed = uptimeObservationPpm(x.uptimeSeconds, epochSeconds);
    const previous = x.d.reputation;
    const ewma = previous === null ? observed : updateUptimeEwma(previous.uptimeEwmaPpm, observed, epochSeconds);
    reputation.push({
      deviceId: x.d.deviceId, onlineMsMark: x.d.onlineMsNow, uptimeEwmaPpm: ewma,
      epochsObserved: (previous?.epochsObserved ?? 0) + 1, updatedEpoch: window.idx,
    });
    const score = reputationScore({
      uptimeEwmaPpm: ewma,
      // No history yet counts as a clean one: a new device starts where its uptime and stake put it.
      leaseCompletionPpm: ratioPpm(x.d.nodesCompleted, x.d.nodesEnded, 1_000_000),
      verificationPassPpm: ratioPpm(x.d.verificationsPassed, x.d.verificationsJudged, x.d.verified ? 1_000_000 : 0),
      stake: x.d.stake,
      stakeRequirement: stakeRequirement(x.d.model, x.d.gpus, params.stake_per_gpu),
    });
    standings.push({ deviceId: x.d.deviceId, reputation: score, tier: tierForScore(score) });
  }

  return {
    figures: {
      servedGpuSeconds, availableGpuSeconds, utilizationBps: emission.utilizationBps, emissionIo: emission.amount,
      stipendPoolIo: split.stipendPool, usagePoolIo: split.usagePool, treasuryIo: split.treasury, merkleRoot: root, memo: epochMemo(window.idx, root),
      params: Object.fromEntries(PARAM_NAMES.map((n) => [n, formatParam(n, params[n])])),
    },
    rewards,
    reputation,
    standings,
  };
}

/** Mints per payout wallet (a wallet with several devices gets one sum), in first-seen order; zeros dropped. */
export function mintsOf(rewards: readonly EpochReward[]): Array<{ to: Address; amount: bigint }> {
  const byWallet = new Map<Address, bigint>();
  for (const r of rewards) byWallet.set(r.payout, (byWallet.get(r.payout) ?? 0n) + r.stipendIo + r.bonusIo);
  return [...byWallet].filter(([, amount]) => amount > 0n).map(([to, amount]) => ({ to, amount }));
}
