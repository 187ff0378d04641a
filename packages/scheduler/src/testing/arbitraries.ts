// fast-check arbitraries shared by the scheduler's tests (not exported by the package).
import fc from 'fast-check';
import { microUsd, TIERS, type DeviceId, type GpuModel, type RegionId } from '@idlegrid/domain';
import type { PlacementRequest, PoolDevice } from '../types.ts';

export const TEST_MODELS: readonly GpuModel[] = ['H100', 'A100', 'RTX4090'];
export const TEST_REGIONS = ['us-east', 'eu-central', 'eu-west', 'ap-northeast'] as RegionId[];

/** Device ids d00…d(n-1). */
export function testIds(n: number): DeviceId[] {
  return Array.from({ length: n }, (_, i) => `d${String(i).padStart(2, '0')}` as DeviceId);
}

export const coordinateArb = fc.record({
  x: fc.double({ min: -60, max: 60, noNaN: true }),
  y: fc.double({ min: -60, max: 60, noNaN: true }),
  h: fc.double({ min: 0.1, max: 8, noNaN: true }),
});

/** A device with the given id; small value ranges so ties and collisions happen. */
export function deviceArb(deviceId: DeviceId): fc.Arbitrary<PoolDevice> {
  return fc.record({
    deviceId: fc.constant(deviceId),
    model: fc.constantFrom(...TEST_MODELS),
    freeSlots: fc.integer({ min: 0, max: 4 }),
    pricePerGpuHour: fc.integer({ min: 1, max: 5 }).map((p) => microUsd(BigInt(p) * 250_000n)),
    tier: fc.constantFrom(...TIERS),
    region: fc.constantFrom(...TEST_REGIONS),
    verified: fc.boolean(),
    reputation: fc.integer({ min: 0, max: 1000 }),
    coordinate: coordinateArb,
  });
}

/** A pool of 0…maxDevices devices with distinct ids. */
export function poolArb(maxDevices = 30): fc.Arbitrary<PoolDevice[]> {
  return fc
    .integer({ min: 0, max: maxDevices })
    .chain((n) => fc.tuple(...testIds(n).map((id) => deviceArb(id))))
    .map((devices) => [...devices]);
}

export const requestArb: fc.Arbitrary<PlacementRequest> = fc.record({
  model: fc.constantFrom(...TEST_MODELS),
  count: fc.integer({ min: 1, max: 12 }),
  regions: fc.option(fc.subarray(TEST_REGIONS, { minLength: 1 }), { nil: undefined }),
  minTier: fc.option(fc.constantFrom(...TIERS), { nil: undefined }),
  maxPricePerGpuHour: fc.option(fc.integer({ min: 1, max: 5 }).map((p) => microUsd(BigInt(p) * 250_000n)), { nil: undefined }),
  topology: fc.constantFrom('tight' as const, 'spread' as const),
  verifiedOnly: fc.option(fc.boolean(), { nil: undefined }),
  hours: fc.constantFrom(1, 2.5, 24),
});
