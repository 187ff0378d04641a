import { formatDecimal, GPU_MODELS, usdToIo, type GpuModel, type MicroUsd, type Tier } from '@idlegrid/domain';
import { classWeightX10, stakeRequirement, tierMultiplierX100 } from './classes.ts';
import { emissionAtUtilizationBps } from './emission.ts';
import type { Params } from './params.ts';
import { MIN_UPTIME_BPS } from './rewards.ts';
import { applyBps, assertBps, assertCount, assertNonNegative, BPS_DENOMINATOR_N } from './units.ts';

/**
 * What a supplier can expect to earn per day, from network figures the caller passes in
 * (no I/O). Steady-state model, the same rules as `splitEpochRewards`:
 * - every epoch mints E at the network utilization U;
 * - the rest of the network is eligible, online all the time, at `averageTierX100`, and
 *   serves U of its GPU time; the supplier is verified and staked (stake_required_io says
 *   how much), online `uptimeBps` of every epoch and rented `utilizationBps` of that time;
 * - stipend = stipend pool × own weight ÷ (network weight + own weight), likewise the bonus;
 *   below 50 % uptime there is no stipend;
 * - lease income = price × GPUs × 24 h × uptime × utilization, less the protocol fee, paid
 *   in IO at `ioUsdPrice`.
 *
 * Output amounts are decimal strings with up to 6 decimals (IO and USD base units through
 * `formatDecimal`): exact, JSON-safe, and what the CLI prints. Income rounds down, power cost
 * rounds up, so the estimate never flatters. Profit may be negative ("-1.5").
 */

export interface NetworkFigures {
  /** Network utilization U, basis points. */
  readonly utilizationBps: number;
  /** GPU slots online per model, not counting the supplier's own. */
  readonly gpusByModel: Partial<Record<GpuModel, number>>;
  readonly params: Params;
  /** Epoch length in seconds (3600 by default in DESIGN). */
  readonly epochSeconds: number;
  /** Mean tier multiplier ×100 of the rest of the network (default 100: silver). */
  readonly averageTierX100?: number;
  /** IO price used to value IO in USD (default: params.io_usd_reference_price). */
  readonly ioUsdPrice?: MicroUsd;
}

export interface SupplierSetup {
  readonly model: GpuModel;
  readonly gpus: number;
  readonly tier: Tier;
  /** Share of the time online, basis points (default 10000). */
  readonly uptimeBps?: number;
  /** Share of its online GPU time rented out, basis points (default: the network's U). */
  readonly utilizationBps?: number;
  /** Price asked per GPU-hour. */
  readonly pricePerGpuHour: MicroUsd;
  /** Average power draw of the whole host, watts (integer). */
  readonly watts: number;
  /** Electricity price per kWh. */
  readonly usdPerKwh: MicroUsd;
}

export interface SupplierEstimate {
  readonly io_per_day: string;
  readonly usd_per_day: string;
  readonly power_cost_usd_per_day: string;
  readonly profit_usd_per_day: string;
  readonly stake_required_io: string;
  /** The parts of io_per_day. */
  readonly stipend_io_per_day: string;
  readonly bonus_io_per_day: string;
  readonly lease_io_per_day: string;
  /** Lease income net of the protocol fee, in USD. */
  readonly lease_usd_per_day: string;
  /** E at the given utilization. */
  readonly emission_io_per_epoch: string;
  readonly stipend_eligible: boolean;
}

const DAY_SECONDS = 86_400n;
const IO = 1_000_000n;

/** ⌊pool × mine × 86400 ÷ ((others + mine) × epochSeconds)⌋: one supplier's daily share of a per-epoch pool. */
function dailyShare(pool: bigint, mine: bigint, others: bigint, epochSeconds: bigint): bigint {
  const total = others + mine;
  if (mine === 0n || total === 0n) return 0n;
  return (pool * mine * DAY_SECONDS) / (total * epochSeconds);
}

export function estimateSupplier(network: NetworkFigures, supplier: SupplierSetup): SupplierEstimate {
  const { params } = network;
  const u = network.utilizationBps;
  const uptime = supplier.uptimeBps ?? 10_000;
  const ownUtil = supplier.utilizationBps ?? u;
  const avgTier = network.averageTierX100 ?? 100;
  const ioUsdPrice = network.ioUsdPrice ?? params.io_usd_reference_price;
  assertBps(u, 'utilizationBps');
  assertBps(uptime, 'uptimeBps');
  assertBps(ownUtil, 'supplier utilizationBps');
  assertCount(network.epochSeconds, 'epochSeconds');
  if (network.epochSeconds === 0) throw new RangeError('epochSeconds must be positive');
  assertCount(avgTier, 'averageTierX100');
  assertCount(supplier.gpus, 'gpus');
  assertCount(supplier.watts, 'watts');
  assertNonNegative(supplier.pricePerGpuHour, 'pricePerGpuHour');
  assertNonNegative(supplier.usdPerKwh, 'usdPerKwh');
  if (ioUsdPrice <= 0n) throw new RangeError('the IO price must be positive');

  // Σ over the network of GPU slots × class weight ×10, then × average tier.
  let networkClassWeight = 0n;
  for (const model of GPU_MODELS) {
    const count = network.gpusByModel[model] ?? 0;
    assertCount(count, `gpusByModel.${model}`);
    networkClassWeight += BigInt(count) * BigInt(classWeightX10(model));
  }
  const ownClassWeight = BigInt(supplier.gpus) * BigInt(classWeightX10(supplier.model)) * BigInt(tierMultiplierX100(supplier.tier));
  const othersClassWeight = networkClassWeight * BigInt(avgTier);

  const emission = emissionAtUtilizationBps(params, u);
  const stipendPool = applyBps(emission, params.stipend_share_bps);
  const usagePool = emission - stipendPool;
  const epochSeconds = BigInt(network.epochSeconds);
  const eligible = uptime >= MIN_UPTIME_BPS;

  // Stipend weights: class × tier × uptime (others: always up). Bonus weights: class × tier × served share.
  const stipend = eligible ? dailyShare(stipendPool, ownClassWeight * BigInt(uptime), othersClassWeight * BPS_DENOMINATOR_N, epochSeconds) : 0n;
  const ownServedBps2 = BigInt(uptime) * BigInt(ownUtil); // bps², i.e. ÷ 10⁸
  const bonus = dailyShare(usagePool, ownClassWeight * ownServedBps2, othersClassWeight * BigInt(u) * BPS_DENOMINATOR_N, epochSeconds);

  const leaseGrossUsd = (supplier.pricePerGpuHour * BigInt(supplier.gpus) * 24n * ownServedBps2) / (BPS_DENOMINATOR_N * BPS_DENOMINATOR_N);
  const leaseNetUsd = leaseGrossUsd - applyBps(leaseGrossUsd, params.protocol_fee_bps);
  const leaseIo = usdToIo(leaseNetUsd, ioUsdPrice, 'down');

  const emissionIo = stipend + bonus;
  const usdPerDay = (emissionIo * ioUsdPrice) / IO + leaseNetUsd;
  // watts × 24 h = Wh; ÷ 1000 = kWh; × price per kWh. Rounded up.
  const powerCost = (BigInt(supplier.watts) * 24n * supplier.usdPerKwh + 999n) / 1000n;

  return {
    io_per_day: formatDecimal(emissionIo + leaseIo),
    usd_per_day: formatDecimal(usdPerDay),
    power_cost_usd_per_day: formatDecimal(powerCost),
    profit_usd_per_day: formatDecimal(usdPerDay - powerCost),
    stake_required_io: formatDecimal(stakeRequirement(supplier.model, supplier.gpus, params.stake_per_gpu)),
    stipend_io_per_day: formatDecimal(stipend),
    bonus_io_per_day: formatDecimal(bonus),
    lease_io_per_day: formatDecimal(leaseIo),
    lease_usd_per_day: formatDecimal(leaseNetUsd),
    emission_io_per_epoch: formatDecimal(emission),
    stipend_eligible: eligible,
  };
}
