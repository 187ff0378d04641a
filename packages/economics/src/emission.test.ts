import { describe, expect, it } from 'vitest';
import { microIo } from '@idlegrid/domain';
import { DEFAULT_PARAMS, emissionAtUtilizationBps, epochEmission } from './index.ts';

const IO = 1_000_000n;

describe('epochEmission', () => {
  // E = max × (floor + (1 − floor) × U), hand-computed; max 100,000 IO unless stated.
  const table: ReadonlyArray<[string, bigint, number, number, number, bigint, number]> = [
    // label, max, floor bps, served, available, E (base units), U bps
    ['idle network: the floor', 100_000n * IO, 2000, 0, 3600, 20_000n * IO, 0],
    ['nothing available: U = 0', 100_000n * IO, 2000, 0, 0, 20_000n * IO, 0],
    ['served but nothing available: U = 0', 100_000n * IO, 2000, 50, 0, 20_000n * IO, 0],
    ['half busy: 0.2 + 0.8 × 0.5 = 0.6', 100_000n * IO, 2000, 1800, 3600, 60_000n * IO, 5000],
    ['fully busy', 100_000n * IO, 2000, 3600, 3600, 100_000n * IO, 10_000],
    ['served > available clamps to U = 1', 100_000n * IO, 2000, 9000, 3600, 100_000n * IO, 10_000],
    ['U = 1/3: 10¹¹ × 14000/30000, rounded down', 100_000n * IO, 2000, 1, 3, 46_666_666_666n, 3333],
    ['floor 0, U = 1/4', 100_000n * IO, 0, 1, 4, 25_000n * IO, 2500],
    ['floor 100 %: always max', 100_000n * IO, 10_000, 0, 4, 100_000n * IO, 0],
    ['tiny max: 7 × 14/30 = 3.27 → 3', 7n, 2000, 1, 3, 3n, 3333],
    ['emissions off', 0n, 2000, 5, 10, 0n, 5000],
    ['U = 0.9 of 2 × 10¹² GPU-s', 100_000n * IO, 2000, 1_800_000_000_000, 2_000_000_000_000, 92_000n * IO, 9000],
  ];
  it.each(table)('%s', (_label, max, floor, served, available, expected, uBps) => {
    const e = epochEmission({ emission_max_per_epoch: microIo(max), emission_floor_bps: floor }, {
      servedGpuSeconds: served,
      availableGpuSeconds: available,
    });
    expect(e.amount).toBe(expected);
    expect(e.utilizationBps).toBe(uBps);
  });

  it('returns U as an exact clamped fraction', () => {
    expect(epochEmission(DEFAULT_PARAMS, { servedGpuSeconds: 1, availableGpuSeconds: 3 }).utilization).toEqual({ served: 1n, available: 3n });
    expect(epochEmission(DEFAULT_PARAMS, { servedGpuSeconds: 7, availableGpuSeconds: 3 }).utilization).toEqual({ served: 3n, available: 3n });
    expect(epochEmission(DEFAULT_PARAMS, { servedGpuSeconds: 7, availableGpuSeconds: 0 }).utilization).toEqual({ served: 0n, available: 1n });
  });

  it('grows with utilization and stays within [floor × max, max]', () => {
    let last = -1n;
    for (let u = 0; u <= 10_000; u += 125) {
      const e = emissionAtUtilizationBps(DEFAULT_PARAMS, u);
      expect(e).toBeGreaterThan(last);
      expect(e >= 20_000n * IO && e <= 100_000n * IO).toBe(true);
      last = e;
    }
  });

  it('refuses bad inputs as programmer errors', () => {
    expect(() => epochEmission(DEFAULT_PARAMS, { servedGpuSeconds: -1, availableGpuSeconds: 3 })).toThrow(RangeError);
    expect(() => epochEmission(DEFAULT_PARAMS, { servedGpuSeconds: 1.5, availableGpuSeconds: 3 })).toThrow(RangeError);
    expect(() => epochEmission({ ...DEFAULT_PARAMS, emission_floor_bps: 10_001 }, { servedGpuSeconds: 1, availableGpuSeconds: 3 })).toThrow(RangeError);
  });
});
