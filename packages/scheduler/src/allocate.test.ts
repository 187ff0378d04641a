import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIdlegridError, microUsd, seededRandom, type DeviceId, type RegionId } from '@idlegrid/domain';
import {
  allocate, cheapestFirst, compareDevices, diameterOf, passesFilters, rttStats, syntheticPool,
  type AllocationResult, type Placement, type PlacementRequest, type PoolDevice,
} from './index.ts';
import { poolArb, requestArb } from './testing/arbitraries.ts';

function expectPlacementValid(request: PlacementRequest, pool: readonly PoolDevice[], placement: Placement): void {
  const byId = new Map(pool.map((d) => [d.deviceId as string, d]));
  const seen = new Set<string>();
  let slots = 0;
  let perHour = 0n;
  for (const placed of placement.devices) {
    const device = byId.get(placed.deviceId);
    expect(device).toBeDefined();
    if (!device) continue;
    expect(seen.has(placed.deviceId)).toBe(false);
    seen.add(placed.deviceId);
    expect(placed.slots).toBeGreaterThan(0);
    expect(placed.slots).toBeLessThanOrEqual(device.freeSlots);
    expect(passesFilters(device, request)).toBe(true);
    expect(placed.pricePerGpuHour).toBe(device.pricePerGpuHour);
    slots += placed.slots;
    perHour += placed.pricePerGpuHour * BigInt(placed.slots);
  }
  expect(slots).toBe(request.count);
  expect(placement.slots).toBe(request.count);
  expect(placement.pricePerHour).toBe(perHour);
  const coords = placement.devices.map((d) => d.coordinate);
  expect(placement.maxRttMs).toBeCloseTo(diameterOf(coords), 9);
  expect(placement.regions).toEqual([...new Set(placement.devices.map((d) => d.region))].sort());
}

function device(id: string, over: Partial<PoolDevice> = {}): PoolDevice {
  return {
    deviceId: id as DeviceId,
    model: 'H100',
    freeSlots: 1,
    pricePerGpuHour: microUsd(1_000_000n),
    tier: 'gold',
    region: 'us-east' as RegionId,
    verified: true,
    reputation: 800,
    coordinate: { x: 0, y: 0, h: 1 },
    ...over,
  };
}

describe('allocate (property)', () => {
  it('never violates a filter, never uses a device twice or beyond its free slots, and answers exactly one way', () => {
    fc.assert(
      fc.property(poolArb(40), requestArb, fc.integer(), (pool, request, seed) => {
        const result = allocate(request, pool, { random: seededRandom(seed) });
        const passing = pool.filter((d) => passesFilters(d, request)).reduce((s, d) => s + d.freeSlots, 0);
        if (result.feasible) {
          expect(passing).toBeGreaterThanOrEqual(request.count);
          expectPlacementValid(request, pool, result);
        } else {
          expect(passing).toBeLessThan(request.count);
          expect(result.available).toBe(passing);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic for the same seed and does not depend on the order of the pool', () => {
    fc.assert(
      fc.property(poolArb(40), requestArb, fc.integer(), (pool, request, seed) => {
        const a = allocate(request, pool, { random: seededRandom(seed) });
        const b = allocate(request, [...pool].reverse(), { random: seededRandom(seed) });
        expect(b).toEqual(a);
      }),
      { numRuns: 150 },
    );
  });

  it('spread is the cheapest possible placement; tight is never wider than spread', () => {
    fc.assert(
      fc.property(poolArb(40), requestArb, (pool, request) => {
        const spread = allocate({ ...request, topology: 'spread' }, pool);
        const tight = allocate({ ...request, topology: 'tight' }, pool);
        if (!spread.feasible || !tight.feasible) return;
        const sorted = pool.filter((d) => passesFilters(d, request)).sort(compareDevices);
        const cheapest = cheapestFirst(sorted, request.count).reduce((s, p) => s + p.device.pricePerGpuHour * BigInt(p.slots), 0n);
        expect(spread.pricePerHour).toBe(cheapest);
        expect(tight.maxRttMs).toBeLessThanOrEqual(spread.maxRttMs + 1e-9);
      }),
      { numRuns: 200 },
    );
  });
});

describe('allocate (examples)', () => {
  it('spread takes the cheapest slots and breaks price ties by reputation', () => {
    const pool = [
      device('a', { pricePerGpuHour: microUsd(2_000_000n), freeSlots: 4 }),
      device('b', { pricePerGpuHour: microUsd(1_000_000n), reputation: 700, freeSlots: 2 }),
      device('c', { pricePerGpuHour: microUsd(1_000_000n), reputation: 950, freeSlots: 2 }),
    ];
    const result = allocate({ model: 'H100', count: 3, topology: 'spread', hours: 2 }, pool);
    if (!result.feasible) throw new Error('expected a placement');
    expect(result.devices.map((d) => [d.deviceId, d.slots])).toEqual([['c', 2], ['b', 1]]);
    expect(result.pricePerHour).toBe(3_000_000n);
    expect(result.totalPrice).toBe(6_000_000n);
  });

  it('tight prefers one device with enough slots (diameter 0), the cheapest such', () => {
    const pool = [
      device('far', { coordinate: { x: 90, y: 0, h: 1 }, freeSlots: 8, pricePerGpuHour: microUsd(3_000_000n) }),
      device('big', { freeSlots: 8, pricePerGpuHour: microUsd(2_000_000n) }),
      device('s1', { freeSlots: 2 }),
      device('s2', { freeSlots: 2 }),
    ];
    const result = allocate({ model: 'H100', count: 4, topology: 'tight', hours: 1 }, pool);
    if (!result.feasible) throw new Error('expected a placement');
    expect(result.devices.map((d) => d.deviceId)).toEqual(['big']);
    expect(result.maxRttMs).toBe(0);
    expect(result.meanRttMs).toBe(0);
  });

  it('tight picks the close group even when a far one is cheaper, and the cheaper of equally tight ones', () => {
    const pool = [
      device('far1', { coordinate: { x: 100, y: 0, h: 1 }, pricePerGpuHour: microUsd(100_000n) }),
      device('far2', { coordinate: { x: -100, y: 0, h: 1 }, pricePerGpuHour: microUsd(100_000n) }),
      device('near1', { coordinate: { x: 0, y: 0, h: 1 } }),
      device('near2', { coordinate: { x: 1, y: 0, h: 1 } }),
      device('near3-dear', { coordinate: { x: -1, y: 0, h: 1 }, pricePerGpuHour: microUsd(5_000_000n) }),
    ];
    const result = allocate({ model: 'H100', count: 2, topology: 'tight', hours: 1 }, pool);
    if (!result.feasible) throw new Error('expected a placement');
    expect(result.devices.map((d) => d.deviceId).sort()).toEqual(['near1', 'near2']);
    expect(result.maxRttMs).toBeCloseTo(3, 9);
  });

  it('prices fractional hours to the second, rounding half up', () => {
    const pool = [device('a', { pricePerGpuHour: microUsd(1_000_001n) })];
    const result = allocate({ model: 'H100', count: 1, topology: 'spread', hours: 0.5 }, pool);
    if (!result.feasible) throw new Error('expected a placement');
    expect(result.totalPrice).toBe(500_001n);
  });

  it('reports mean and max RTT over device pairs', () => {
    const coords = [{ x: 0, y: 0, h: 1 }, { x: 3, y: 4, h: 1 }, { x: 6, y: 8, h: 1 }];
    expect(rttStats(coords)).toEqual({ maxRttMs: 12, meanRttMs: (7 + 12 + 7) / 3 });
  });

  it('rejects malformed requests and pools with a coded error', () => {
    const pool = [device('a')];
    const bad: PlacementRequest[] = [
      { model: 'H100', count: 0, topology: 'tight', hours: 1 },
      { model: 'H100', count: 1.5, topology: 'tight', hours: 1 },
      { model: 'H100', count: 1, topology: 'tight', hours: 0 },
      { model: 'H100', count: 1, topology: 'tight', hours: 1, maxPricePerGpuHour: microUsd(-1n) },
    ];
    for (const request of bad) {
      expect(() => allocate(request, pool)).toThrow();
      try {
        allocate(request, pool);
      } catch (e) {
        expect(isIdlegridError(e, 'VALIDATION_FAILED')).toBe(true);
      }
    }
    expect(() => allocate({ model: 'H100', count: 1, topology: 'tight', hours: 1 }, [device('a'), device('a')])).toThrow(/twice/);
    expect(() => allocate({ model: 'H100', count: 1, topology: 'tight', hours: 1 }, [device('a', { freeSlots: -1 })])).toThrow();
  });
});

describe('allocate on a realistic world', () => {
  const pool = syntheticPool({ slots: 4000, random: seededRandom(9) });
  const requests: PlacementRequest[] = [
    { model: 'RTX4090', count: 8, topology: 'tight', hours: 1 },
    { model: 'RTX4090', count: 200, topology: 'tight', hours: 1 },
    { model: 'H100', count: 64, topology: 'tight', hours: 3, minTier: 'silver' },
    { model: 'A100', count: 16, topology: 'tight', hours: 1, regions: ['eu-central', 'eu-west', 'uk-south'] as RegionId[] },
    { model: 'RTX3090', count: 32, topology: 'spread', hours: 1, maxPricePerGpuHour: microUsd(250_000n) },
  ];

  it('places valid clusters, and tight beats cheapest-first on diameter', () => {
    for (const request of requests) {
      const result: AllocationResult = allocate(request, pool, { random: seededRandom(1) });
      if (!result.feasible) throw new Error(`expected a placement for ${JSON.stringify(request, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
      expectPlacementValid(request, pool, result);
      if (request.topology === 'tight') {
        const spread = allocate({ ...request, topology: 'spread' }, pool);
        if (!spread.feasible) throw new Error('spread should fit too');
        expect(result.maxRttMs).toBeLessThan(spread.maxRttMs);
      }
    }
  });

  it('gives the same answer for the same seed', () => {
    const request = requests[1] as PlacementRequest;
    expect(allocate(request, pool, { random: seededRandom(7) })).toEqual(allocate(request, pool, { random: seededRandom(7) }));
  });
});
