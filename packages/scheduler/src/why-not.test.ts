import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { microUsd, seededRandom, type DeviceId, type RegionId } from '@idlegrid/domain';
import { allocate, passesFilters, SlotPool, type Infeasible, type PlacementRequest, type PoolDevice } from './index.ts';
import { poolArb, requestArb } from './testing/arbitraries.ts';

function device(id: string, over: Partial<PoolDevice> = {}): PoolDevice {
  return {
    deviceId: id as DeviceId,
    model: 'H100',
    freeSlots: 2,
    pricePerGpuHour: microUsd(2_000_000n),
    tier: 'gold',
    region: 'eu-central' as RegionId,
    verified: true,
    reputation: 850,
    coordinate: { x: 0, y: 0, h: 1 },
    ...over,
  };
}

function infeasible(request: PlacementRequest, pool: readonly PoolDevice[]): Infeasible {
  const result = allocate(request, pool);
  if (result.feasible) throw new Error('expected an infeasible answer');
  return result;
}

const pool: PoolDevice[] = [
  device('a'),
  device('b', { region: 'eu-west' as RegionId, coordinate: { x: 8, y: 0, h: 1 } }),
  device('c', { tier: 'silver', reputation: 700 }),
  device('d', { pricePerGpuHour: microUsd(3_500_000n) }),
  device('e', { verified: false }),
  device('f', { model: 'A100', freeSlots: 8 }),
  device('g', { region: 'us-east' as RegionId, coordinate: { x: 60, y: 0, h: 1 }, freeSlots: 4 }),
];

describe('why-not answers', () => {
  it('counts what survives each filter stage, in order', () => {
    const request: PlacementRequest = {
      model: 'H100', count: 6, regions: ['eu-central'] as RegionId[], minTier: 'gold',
      maxPricePerGpuHour: microUsd(3_000_000n), topology: 'tight', hours: 1,
    };
    const answer = infeasible(request, pool);
    expect(answer.stages).toEqual([
      { stage: 'model', remaining: 14, devices: 6 },
      { stage: 'region', remaining: 8, devices: 4 },
      { stage: 'tier', remaining: 6, devices: 3 },
      { stage: 'price', remaining: 4, devices: 2 },
      { stage: 'verified', remaining: 2, devices: 1 },
      { stage: 'count', remaining: 2, devices: 1 },
    ]);
    expect(answer.available).toBe(2);
    expect(answer.reason).toMatch(/only 2 of 6 H100 slots/);
    expect(answer.alternatives.length).toBeGreaterThan(0);
    expect(answer.alternatives.length).toBeLessThanOrEqual(3);
  });

  it('offers concrete, nearest relaxations: another region, a lower tier, a higher price, fewer GPUs', () => {
    const base: PlacementRequest = { model: 'H100', count: 4, regions: ['eu-central'] as RegionId[], topology: 'spread', hours: 2 };
    const price = infeasible({ ...base, count: 6, maxPricePerGpuHour: microUsd(2_000_000n), minTier: 'silver' }, pool);
    const priceAlt = price.alternatives.find((a) => a.change === 'price');
    expect(priceAlt?.request.maxPricePerGpuHour).toBe(3_500_000n);
    expect(priceAlt?.pricePerHour).toBe(15_000_000n);
    expect(priceAlt?.totalPrice).toBe(30_000_000n);

    const tier = infeasible({ ...base, count: 6, minTier: 'gold' }, pool);
    expect(tier.alternatives.find((a) => a.change === 'tier')?.request.minTier).toBe('silver');

    const region = infeasible({ ...base, count: 8 }, pool);
    const regionAlt = region.alternatives.find((a) => a.change === 'region');
    expect(regionAlt?.request.regions).toEqual(['eu-central', 'eu-west']);

    const count = infeasible({ ...base, count: 7 }, pool);
    expect(count.alternatives[0]?.change).toBe('count');
    expect(count.alternatives[0]?.request.count).toBe(6);
  });

  it('suggests unverified devices or a combined relaxation when nothing simpler fits', () => {
    const onlyUnverified = [device('x', { verified: false, freeSlots: 4 })];
    const unverified = infeasible({ model: 'H100', count: 4, topology: 'tight', hours: 1 }, onlyUnverified);
    expect(unverified.alternatives.map((a) => a.change)).toEqual(['verified']);
    const combined = infeasible(
      { model: 'H100', count: 30, regions: ['us-east'] as RegionId[], minTier: 'platinum', topology: 'tight', hours: 1 },
      pool,
    );
    expect(combined.alternatives.map((a) => a.change)).toContain('combined');
  });

  it('has nothing to suggest when the model has no free slots at all', () => {
    const answer = infeasible({ model: 'B200', count: 1, topology: 'tight', hours: 1 }, pool);
    expect(answer.stages[0]).toEqual({ stage: 'model', remaining: 0, devices: 0 });
    expect(answer.alternatives).toEqual([]);
    expect(answer.reason).toMatch(/no free B200 slots/);
  });

  it('every alternative is itself feasible, through allocate and through a SlotPool (property)', () => {
    fc.assert(
      fc.property(poolArb(30), requestArb, fc.integer(), (devices, request, seed) => {
        const result = allocate(request, devices, { random: seededRandom(seed) });
        if (result.feasible) return;
        const index = new SlotPool(devices);
        expect(index.allocate(request, seededRandom(seed))).toEqual(result);
        expect(result.alternatives.length).toBeLessThanOrEqual(3);
        const passing = devices.filter((d) => passesFilters(d, request)).reduce((s, d) => s + d.freeSlots, 0);
        if (passing > 0) expect(result.alternatives.length).toBeGreaterThan(0);
        for (const alternative of result.alternatives) {
          const placed = allocate(alternative.request, devices, { random: seededRandom(seed) });
          expect(placed.feasible).toBe(true);
          if (!placed.feasible) continue;
          expect(placed.pricePerHour).toBe(alternative.pricePerHour);
          expect(placed.maxRttMs).toBe(alternative.maxRttMs);
          expect(index.allocate(alternative.request, seededRandom(seed)).feasible).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});
