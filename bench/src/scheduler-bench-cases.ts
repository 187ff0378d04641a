// Measurements behind scheduler-bench.ts: placement latency, tight vs brute force, tight vs baselines.
import { seededRandom, type GpuModel, type RandomSource } from '@idlegrid/domain';
import {
  allocate, applyFilters, bruteForceTightDiameter, buildPlacement, cheapestFirst, smallTightInstance, SlotPool,
  syntheticPool, type Placement, type PlacementRequest, type PoolDevice,
} from '@idlegrid/scheduler';

/** Median and 99th percentile of a sample (nearest rank). */
export function percentiles(samples: readonly number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
  return { p50: rank(0.5), p99: rank(0.99) };
}

export interface BuiltPool {
  readonly label: string;
  readonly slots: number;
  readonly pool: SlotPool;
  readonly devices: number;
  readonly buildMs: number;
}

/** A realistic pool of `slots` free slots over the world cities, indexed in a SlotPool. */
export function buildPool(slots: number, label: string): BuiltPool {
  const devices = syntheticPool({ slots, random: seededRandom(slots) });
  const start = performance.now();
  const pool = new SlotPool(devices);
  return { label, slots, pool, devices: devices.length, buildMs: performance.now() - start };
}

export interface Timing {
  readonly p50: number;
  readonly p99: number;
  /** Median CPU time of this process per placement (user + system), less sensitive to other load. */
  readonly cpuP50: number;
  readonly runs: number;
  readonly maxRttMs: number;
  readonly pricePerHour: bigint;
}

/**
 * Times `pool.allocate` for `count` slots of `model` (a few warm-up runs first, then
 * `runs` timed runs, each with its own seed). Null when the pool cannot hold them.
 */
export function timePlacement(
  built: BuiltPool,
  model: GpuModel,
  count: number,
  topology: 'tight' | 'spread',
  runs: number,
): Timing | null {
  const request: PlacementRequest = { model, count, topology, hours: 1 };
  const first = built.pool.allocate(request, seededRandom(0));
  if (!first.feasible) return null;
  for (let i = 1; i < 3; i++) built.pool.allocate(request, seededRandom(i));
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const random = seededRandom(1000 + i);
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    built.pool.allocate(request, random);
    samples.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
  }
  return { ...percentiles(samples), cpuP50: percentiles(cpu).p50, runs, maxRttMs: first.maxRttMs, pricePerHour: first.pricePerHour };
}

export interface SmallResult {
  readonly instances: number;
  readonly ratioMean: number;
  readonly ratioWorst: number;
  readonly optimalShare: number;
  readonly ms: number;
}

/** Tight vs brute-force optimum on small instances (24 devices, 6 slots). */
export function smallInstances(instances: number): SmallResult {
  const start = performance.now();
  const random = seededRandom(2024);
  const ratios: number[] = [];
  for (let i = 0; i < instances; i++) {
    const pool = smallTightInstance(random, 24);
    const result = allocate({ model: 'RTX4090', count: 6, topology: 'tight', hours: 1 }, pool, { random: seededRandom(i) });
    if (!result.feasible) throw new Error('small instances always fit');
    const optimum = bruteForceTightDiameter(pool, 6);
    ratios.push(optimum === 0 ? (result.maxRttMs === 0 ? 1 : Infinity) : result.maxRttMs / optimum);
  }
  return {
    instances,
    ratioMean: ratios.reduce((a, b) => a + b, 0) / ratios.length,
    ratioWorst: Math.max(...ratios),
    optimalShare: ratios.filter((r) => r <= 1 + 1e-9).length / ratios.length,
    ms: performance.now() - start,
  };
}

export interface LargeInstance {
  readonly pool: string;
  readonly model: GpuModel;
  readonly count: number;
  readonly tight: { readonly maxRttMs: number; readonly meanRttMs: number; readonly pricePerHour: bigint };
  readonly cheapest: { readonly maxRttMs: number; readonly meanRttMs: number; readonly pricePerHour: bigint };
  readonly random: { readonly maxRttMs: number; readonly meanRttMs: number; readonly pricePerHour: bigint };
}

function shuffled<T>(items: readonly T[], random: RandomSource): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}

function summary(p: Placement): LargeInstance['tight'] {
  return { maxRttMs: p.maxRttMs, meanRttMs: p.meanRttMs, pricePerHour: p.pricePerHour };
}

/** Tight vs two baselines (a random feasible placement, cheapest-first) on large pools. */
export function largeInstances(pools: readonly BuiltPool[]): LargeInstance[] {
  const requests: ReadonlyArray<readonly [GpuModel, number]> = [
    ['RTX4090', 256], ['H100', 64], ['A100', 128], ['RTX3090', 512], ['L40S', 32], ['RTX4090', 2000],
  ];
  const out: LargeInstance[] = [];
  for (const built of pools) {
    for (const [model, count] of requests) {
      const request: PlacementRequest = { model, count, topology: 'tight', hours: 1 };
      const tight = built.pool.allocate(request, seededRandom(1));
      const cheapest = built.pool.allocate({ ...request, topology: 'spread' });
      if (!tight.feasible || !cheapest.feasible) continue;
      const candidates: PoolDevice[] = applyFilters(request, built.pool.bucket(model)).candidates;
      const random = buildPlacement(request, cheapestFirst(shuffled(candidates, seededRandom(count)), count));
      out.push({ pool: built.label, model, count, tight: summary(tight), cheapest: summary(cheapest), random: summary(random) });
    }
  }
  return out;
}
