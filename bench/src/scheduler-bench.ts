// Scheduler benchmark: `npm run bench:scheduler -- --json` prints one JSON object;
// without --json, a short readable summary. Targets (medians, one core): 256 slots
// from 100,000 in ≤ 20 ms, 10,000 in ≤ 1,000 ms; tight within 1.05× (mean) and
// 1.25× (worst) of the brute-force optimum; tight narrower than cheapest-first always.
import os from 'node:os';
import { formatDecimal } from '@idlegrid/domain';
import {
  buildPool, largeInstances, smallInstances, timePlacement, type BuiltPool, type LargeInstance, type Timing,
} from './scheduler-bench-cases.ts';

const json = process.argv.includes('--json');
const started = performance.now();
const log = (line: string): void => {
  if (!json) console.log(line);
};

const MODEL = 'RTX4090';
const SIZES: ReadonlyArray<readonly [number, string]> = [[1_000, '1k'], [10_000, '10k'], [100_000, '100k']];
const COUNTS = [8, 256, 10_000] as const;

function runsFor(count: number): number {
  return count >= 10_000 ? 15 : 101;
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));
const result: Record<string, unknown> = {};
const pools: BuiltPool[] = [];
const timings: Record<string, Timing | null> = {};

for (const [slots, label] of SIZES) {
  const built = buildPool(slots, label);
  pools.push(built);
  result[`pool_${label}_devices`] = built.devices;
  result[`pool_${label}_build_ms`] = round(built.buildMs, 1);
  log(`pool ${label}: ${built.devices} devices, ${slots} slots (${built.pool.freeSlots(MODEL)} ${MODEL}), indexed in ${built.buildMs.toFixed(0)} ms`);
  for (const count of COUNTS) {
    for (const topology of ['tight', 'spread'] as const) {
      const prefix = topology === 'tight' ? '' : 'spread_';
      const key = `${count}_of_${label}`;
      const timing = count > slots ? null : timePlacement(built, MODEL, count, topology, runsFor(count));
      timings[`${prefix}${key}`] = timing;
      result[`${prefix}p50_ms_${key}`] = timing ? round(timing.p50) : null;
      result[`${prefix}p99_ms_${key}`] = timing ? round(timing.p99) : null;
      result[`${prefix}cpu_p50_ms_${key}`] = timing ? round(timing.cpuP50) : null;
      if (topology === 'tight') result[`tight_diameter_ms_${key}`] = timing ? round(timing.maxRttMs, 2) : null;
      if (timing) {
        log(`  ${topology.padEnd(6)} ${String(count).padStart(6)} slots: p50 ${timing.p50.toFixed(2)} ms, p99 ${timing.p99.toFixed(2)} ms, cpu p50 ${timing.cpuP50.toFixed(2)} ms (${timing.runs} runs), diameter ${timing.maxRttMs.toFixed(1)} ms`);
      } else {
        log(`  ${topology.padEnd(6)} ${String(count).padStart(6)} slots: skipped (more than the pool's ${MODEL} supply)`);
      }
    }
  }
}

const small = smallInstances(200);
result.tight_ratio_instances = small.instances;
result.tight_ratio_mean = round(small.ratioMean, 4);
result.tight_ratio_worst = round(small.ratioWorst, 4);
result.tight_ratio_optimal_share = round(small.optimalShare, 3);
result.tight_ratio_ms = round(small.ms, 0);
log(`tight vs brute force on ${small.instances} instances (24 devices, 6 slots): mean ${small.ratioMean.toFixed(4)}, worst ${small.ratioWorst.toFixed(4)}, optimal in ${(small.optimalShare * 100).toFixed(1)} %`);

const large: LargeInstance[] = largeInstances(pools.filter((p) => p.slots >= 10_000));
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const ratio = (a: bigint, b: bigint): number => (b === 0n ? 1 : Number((a * 1_000_000n) / b) / 1_000_000);
result.large_instances = large.map((l) => ({
  pool: l.pool,
  model: l.model,
  count: l.count,
  tight_diameter_ms: round(l.tight.maxRttMs, 2),
  cheapest_diameter_ms: round(l.cheapest.maxRttMs, 2),
  random_diameter_ms: round(l.random.maxRttMs, 2),
  tight_mean_rtt_ms: round(l.tight.meanRttMs, 2),
  cheapest_mean_rtt_ms: round(l.cheapest.meanRttMs, 2),
  random_mean_rtt_ms: round(l.random.meanRttMs, 2),
  tight_usd_per_hour: formatDecimal(l.tight.pricePerHour),
  cheapest_usd_per_hour: formatDecimal(l.cheapest.pricePerHour),
  random_usd_per_hour: formatDecimal(l.random.pricePerHour),
}));
result.tight_vs_cheapest_diameter_ratio_mean = round(mean(large.map((l) => l.tight.maxRttMs / l.cheapest.maxRttMs)), 4);
result.tight_vs_random_diameter_ratio_mean = round(mean(large.map((l) => l.tight.maxRttMs / l.random.maxRttMs)), 4);
result.tight_vs_cheapest_price_ratio_mean = round(mean(large.map((l) => ratio(l.tight.pricePerHour, l.cheapest.pricePerHour))), 4);
result.tight_vs_random_price_ratio_mean = round(mean(large.map((l) => ratio(l.tight.pricePerHour, l.random.pricePerHour))), 4);
result.tight_beats_cheapest_all = large.length > 0 && large.every((l) => l.tight.maxRttMs < l.cheapest.maxRttMs);
result.tight_beats_random_all = large.length > 0 && large.every((l) => l.tight.maxRttMs < l.random.maxRttMs);
log(`large instances (${large.length}): tight diameter is ${(Number(result.tight_vs_cheapest_diameter_ratio_mean) * 100).toFixed(1)} % of cheapest-first's and ${(Number(result.tight_vs_random_diameter_ratio_mean) * 100).toFixed(1)} % of random's, at ${(Number(result.tight_vs_cheapest_price_ratio_mean) * 100).toFixed(1)} % of cheapest-first's price; narrower than cheapest-first on all: ${String(result.tight_beats_cheapest_all)}`);

const p256 = timings['256_of_100k']?.p50 ?? Infinity;
const p10k = timings['10000_of_100k']?.p50 ?? Infinity;
result.targets_met = {
  p50_ms_256_of_100k_le_20: p256 <= 20,
  p50_ms_10000_of_100k_le_1000: p10k <= 1000,
  tight_ratio_mean_le_1_05: small.ratioMean <= 1.05,
  tight_ratio_worst_le_1_25: small.ratioWorst <= 1.25,
  tight_beats_cheapest_all: result.tight_beats_cheapest_all,
};
result.model = MODEL;
result.node = process.version;
result.cpu = os.cpus()[0]?.model ?? 'unknown';
result.cpus = os.cpus().length;
result.load_avg_1m = round(os.loadavg()[0] ?? 0, 2);
result.total_s = round((performance.now() - started) / 1000, 1);

if (json) {
  console.log(JSON.stringify(result));
} else {
  console.log(`targets: ${JSON.stringify(result.targets_met)}; total ${String(result.total_s)} s`);
}
