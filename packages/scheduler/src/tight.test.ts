import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@idlegrid/domain';
import { CandidateGrid } from './candidate-grid.ts';
import { allocate, bruteForceTightDiameter, diameterOf, smallTightInstance, type PoolDevice } from './index.ts';
import { deviceArb, testIds } from './testing/arbitraries.ts';
import { TightSolver } from './tight-solver.ts';
import { weightedSelectPrefix } from './weighted-select.ts';

describe('tight vs brute force', () => {
  it('is within 5 % of the optimum on average and 25 % at worst over 200 small instances', () => {
    const random = seededRandom(2024);
    const ratios: number[] = [];
    for (let i = 0; i < 200; i++) {
      const pool = smallTightInstance(random);
      const result = allocate({ model: 'RTX4090', count: 6, topology: 'tight', hours: 1 }, pool, { random: seededRandom(i) });
      if (!result.feasible) throw new Error('small instances always fit');
      const optimum = bruteForceTightDiameter(pool, 6);
      expect(result.maxRttMs).toBeGreaterThanOrEqual(optimum - 1e-9);
      ratios.push(optimum === 0 ? (result.maxRttMs === 0 ? 1 : Infinity) : result.maxRttMs / optimum);
    }
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    expect(mean).toBeLessThanOrEqual(1.05);
    expect(Math.max(...ratios)).toBeLessThanOrEqual(1.25);
  });

  it('brute force agrees with a plain enumeration on tiny pools', () => {
    fc.assert(
      fc.property(fc.tuple(...testIds(8).map((id) => deviceArb(id))), fc.integer({ min: 1, max: 6 }), (devices, count) => {
        const pool = devices.filter((d) => d.freeSlots > 0);
        let best = Infinity;
        for (let mask = 1; mask < 1 << pool.length; mask++) {
          const chosen = pool.filter((_, i) => (mask >> i) & 1);
          if (chosen.reduce((s, d) => s + d.freeSlots, 0) < count) continue;
          best = Math.min(best, diameterOf(chosen.map((d) => d.coordinate)));
        }
        expect(bruteForceTightDiameter(pool, count)).toBeCloseTo(best, 9);
      }),
      { numRuns: 100 },
    );
  });
});

describe('building blocks', () => {
  it('weightedSelectPrefix returns exactly the entries up to the radius that holds `need` weight', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 100 }),
        (entries, need) => {
          const key = Float64Array.from(entries, (e) => e[0]);
          const weight = Int32Array.from(entries, (e) => e[1]);
          const idx = Int32Array.from(entries, (_, i) => i);
          const len = weightedSelectPrefix(idx, idx.length, key, weight, need);
          const sorted = [...entries].sort((a, b) => a[0] - b[0]);
          let acc = 0;
          let radius = Infinity;
          for (const [k, w] of sorted) {
            acc += w;
            if (acc >= need) {
              radius = k;
              break;
            }
          }
          const expected = entries.filter((e) => e[0] <= radius).length;
          expect(len).toBe(expected);
          const prefix = new Set(idx.subarray(0, len));
          entries.forEach((e, i) => expect(prefix.has(i)).toBe(e[0] <= radius));
        },
      ),
      { numRuns: 300 },
    );
  });

  const devicesArb = fc
    .integer({ min: 2, max: 40 })
    .chain((n) => fc.tuple(...testIds(n).map((id) => deviceArb(id))))
    .map((d) => d.map((x): PoolDevice => ({ ...x, freeSlots: Math.max(1, x.freeSlots) })));

  it('the branch-and-bound diameter equals the quadratic one', () => {
    fc.assert(
      fc.property(devicesArb, (devices) => {
        const solver = new TightSolver(devices, 1000);
        const all = devices.map((_, i) => i);
        const got = solver.diameter(all);
        expect(got.diameter).toBeCloseTo(diameterOf(devices.map((d) => d.coordinate)), 9);
        expect(solver.rtt(got.endA, got.endB)).toBeCloseTo(got.diameter, 9);
      }),
      { numRuns: 200 },
    );
  });

  it('the grid finds exactly the nearest candidates holding the requested slots', () => {
    fc.assert(
      fc.property(devicesArb, fc.integer({ min: 1, max: 30 }), fc.nat(), (devices, need, pick) => {
        const solver = new TightSolver(devices, 1000);
        const grid = new CandidateGrid(solver.x, solver.y, solver.h, solver.w, 2);
        const c = pick % devices.length;
        const found = grid.around(c, need, need);
        const dist = devices.map((_, v) => solver.rtt(c, v));
        const order = devices.map((_, v) => v).sort((a, b) => (dist[a] ?? 0) - (dist[b] ?? 0));
        let acc = 0;
        let radius = Infinity;
        for (const v of order) {
          acc += solver.w[v] ?? 0;
          if (acc >= need) {
            radius = dist[v] ?? 0;
            break;
          }
        }
        const expected = order.filter((v) => (dist[v] ?? 0) <= radius).sort((a, b) => a - b);
        expect([...found.pool].sort((a, b) => a - b)).toEqual(expected);
        if (radius !== Infinity) expect(found.radius).toBeCloseTo(radius, 9);
      }),
      { numRuns: 200 },
    );
  });
});
