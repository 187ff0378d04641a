import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GPU_MODELS, microUsd, seededRandom, type DeviceId, type RegionId } from '@idlegrid/domain';
import { allocate, compareDevices, SlotPool, syntheticPool, type PlacementRequest, type PoolDevice } from './index.ts';
import { coordinateArb, deviceArb, requestArb, testIds } from './testing/arbitraries.ts';

const IDS = testIds(12);
const idArb = fc.constantFrom(...IDS);

type Op =
  | { kind: 'upsert'; device: PoolDevice }
  | { kind: 'remove'; id: DeviceId }
  | { kind: 'reserve'; id: DeviceId; slots: number }
  | { kind: 'release'; id: DeviceId; slots: number }
  | { kind: 'coordinate'; id: DeviceId; coordinate: { x: number; y: number; h: number } };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: idArb.chain((id) => deviceArb(id)).map((device): Op => ({ kind: 'upsert', device })) },
  { weight: 1, arbitrary: idArb.map((id): Op => ({ kind: 'remove', id })) },
  { weight: 3, arbitrary: fc.record({ id: idArb, slots: fc.integer({ min: 1, max: 3 }) }).map((o): Op => ({ kind: 'reserve', ...o })) },
  { weight: 2, arbitrary: fc.record({ id: idArb, slots: fc.integer({ min: 1, max: 3 }) }).map((o): Op => ({ kind: 'release', ...o })) },
  { weight: 2, arbitrary: fc.record({ id: idArb, coordinate: coordinateArb }).map((o): Op => ({ kind: 'coordinate', ...o })) },
);

/** A plain model of the pool: a map from id to device. */
function applyToModel(model: Map<string, PoolDevice>, op: Op): void {
  switch (op.kind) {
    case 'upsert':
      model.set(op.device.deviceId, op.device);
      return;
    case 'remove':
      model.delete(op.id);
      return;
    case 'reserve': {
      const d = model.get(op.id);
      if (d && d.freeSlots >= op.slots) model.set(op.id, { ...d, freeSlots: d.freeSlots - op.slots });
      return;
    }
    case 'release': {
      const d = model.get(op.id);
      if (d) model.set(op.id, { ...d, freeSlots: d.freeSlots + op.slots });
      return;
    }
    case 'coordinate': {
      const d = model.get(op.id);
      if (d) model.set(op.id, { ...d, coordinate: op.coordinate });
    }
  }
}

function applyToPool(pool: SlotPool, op: Op): boolean {
  switch (op.kind) {
    case 'upsert':
      pool.upsertDevice(op.device);
      return true;
    case 'remove':
      return pool.removeDevice(op.id);
    case 'reserve':
      return pool.reserve(op.id, op.slots);
    case 'release':
      return pool.releaseSlots(op.id, op.slots);
    case 'coordinate':
      return pool.setCoordinate(op.id, op.coordinate);
  }
}

describe('SlotPool', () => {
  it('answers exactly like a pool rebuilt from scratch, after any sequence of operations (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.array(requestArb, { minLength: 1, maxLength: 4 }), fc.integer(), (ops, requests, seed) => {
        const pool = new SlotPool();
        const model = new Map<string, PoolDevice>();
        for (const op of ops) {
          applyToPool(pool, op);
          applyToModel(model, op);
        }
        const rebuilt = new SlotPool([...model.values()]);
        const expectedDevices = [...model.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
        expect(pool.devices()).toEqual(expectedDevices);
        expect(pool.size).toBe(model.size);
        for (const m of GPU_MODELS) {
          const bucket = expectedDevices.filter((d) => d.model === m && d.freeSlots > 0).sort(compareDevices);
          expect(pool.bucket(m)).toEqual(bucket);
          expect(rebuilt.bucket(m)).toEqual(bucket);
          expect(pool.freeSlots(m)).toBe(bucket.reduce((s, d) => s + d.freeSlots, 0));
        }
        expect(pool.freeSlots()).toBe(expectedDevices.reduce((s, d) => s + d.freeSlots, 0));
        for (const request of requests) {
          const incremental = pool.allocate(request, seededRandom(seed));
          expect(incremental).toEqual(rebuilt.allocate(request, seededRandom(seed)));
          expect(incremental).toEqual(allocate(request, expectedDevices, { random: seededRandom(seed) }));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('matches a rebuilt pool on large pools too, where tight uses its grid and sampled centers (property)', () => {
    const base = syntheticPool({ slots: 1500, random: seededRandom(77) });
    const ids = base.map((d) => d.deviceId);
    const bigOpArb = fc.record({
      at: fc.nat({ max: ids.length - 1 }),
      kind: fc.constantFrom('reserve', 'release', 'remove', 'coordinate'),
      slots: fc.integer({ min: 1, max: 2 }),
      coordinate: coordinateArb,
    });
    fc.assert(
      fc.property(fc.array(bigOpArb, { maxLength: 200 }), fc.integer(), fc.constantFrom(8, 40, 120), (ops, seed, count) => {
        const pool = new SlotPool(base);
        for (const op of ops) {
          const id = ids[op.at] as DeviceId;
          if (op.kind === 'reserve') pool.reserve(id, op.slots);
          else if (op.kind === 'release') pool.releaseSlots(id, op.slots);
          else if (op.kind === 'remove') pool.removeDevice(id);
          else pool.setCoordinate(id, op.coordinate);
        }
        const rebuilt = new SlotPool([...pool.devices()].reverse());
        const request: PlacementRequest = { model: 'RTX4090', count, topology: 'tight', hours: 1, verifiedOnly: false };
        expect(pool.allocate(request, seededRandom(seed))).toEqual(rebuilt.allocate(request, seededRandom(seed)));
      }),
      { numRuns: 25 },
    );
  });

  it('never hands out a slot twice: reserve refuses what is not free, placements reserve all or nothing', () => {
    const pool = new SlotPool(syntheticPool({ slots: 3000, random: seededRandom(3) }));
    const initial = new Map(pool.devices().map((d) => [d.deviceId as string, d.freeSlots]));
    const taken = new Map<string, number>();
    const request: PlacementRequest = { model: 'RTX4090', count: 48, topology: 'tight', hours: 1, verifiedOnly: false };
    let leases = 0;
    for (;;) {
      const result = pool.allocate(request, seededRandom(leases));
      if (!result.feasible) break;
      const before = new Map(result.devices.map((d) => [d.deviceId as string, pool.get(d.deviceId)?.freeSlots ?? 0]));
      expect(pool.reservePlacement(result)).toBe(true);
      for (const d of result.devices) {
        expect(pool.get(d.deviceId)?.freeSlots).toBe((before.get(d.deviceId) ?? 0) - d.slots);
        taken.set(d.deviceId, (taken.get(d.deviceId) ?? 0) + d.slots);
      }
      leases++;
    }
    expect(leases).toBeGreaterThan(3);
    for (const [id, slots] of taken) {
      expect(slots).toBeLessThanOrEqual(initial.get(id) ?? 0);
    }
    expect(pool.freeSlots('RTX4090')).toBeLessThan(48);
    const someone = pool.devices()[0];
    if (someone) {
      expect(pool.reserve(someone.deviceId, someone.freeSlots + 1)).toBe(false);
      expect(pool.get(someone.deviceId)?.freeSlots).toBe(someone.freeSlots);
    }
    expect(pool.reserve('nobody' as DeviceId, 1)).toBe(false);
    expect(pool.releaseSlots('nobody' as DeviceId, 1)).toBe(false);
    expect(() => pool.reserve(IDS[0] as DeviceId, 0)).toThrow();
  });

  it('reserves a placement all or nothing', () => {
    const pool = new SlotPool(syntheticPool({ slots: 400, random: seededRandom(8) }));
    const result = pool.allocate({ model: 'RTX4090', count: 6, topology: 'spread', hours: 1, verifiedOnly: false });
    if (!result.feasible) throw new Error('expected a placement');
    const last = result.devices[result.devices.length - 1];
    if (!last) throw new Error('expected devices');
    const lastFree = pool.get(last.deviceId)?.freeSlots ?? 0;
    expect(pool.reserve(last.deviceId, lastFree)).toBe(true);
    const snapshot = pool.devices();
    expect(pool.reservePlacement(result)).toBe(false);
    expect(pool.devices()).toEqual(snapshot);
  });

  it('updates the index on release, coordinate changes and removal', () => {
    const id = 'dev1' as DeviceId;
    const pool = new SlotPool([
      {
        deviceId: id, model: 'H100', freeSlots: 1, pricePerGpuHour: microUsd(1_000_000n), tier: 'gold',
        region: 'us-east' as RegionId, verified: true, reputation: 900, coordinate: { x: 0, y: 0, h: 1 },
      },
    ]);
    const request: PlacementRequest = { model: 'H100', count: 2, topology: 'tight', hours: 1 };
    expect(pool.allocate(request).feasible).toBe(false);
    expect(pool.releaseSlots(id, 1)).toBe(true);
    expect(pool.allocate(request).feasible).toBe(true);
    expect(pool.setCoordinate(id, { x: 5, y: 5, h: 2 })).toBe(true);
    const placed = pool.allocate(request);
    expect(placed.feasible && placed.devices[0]?.coordinate).toEqual({ x: 5, y: 5, h: 2 });
    expect(pool.reserve(id, 2)).toBe(true);
    expect(pool.bucket('H100')).toEqual([]);
    expect(pool.removeDevice(id)).toBe(true);
    expect(pool.removeDevice(id)).toBe(false);
    expect(pool.size).toBe(0);
  });
});
