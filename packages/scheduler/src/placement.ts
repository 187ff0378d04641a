import { microUsd, type MicroUsd, type RegionId } from '@idlegrid/domain';
import { compareDevices } from './filters.ts';
import type { Coordinate, PlacedDevice, Placement, PlacementRequest, PoolDevice } from './types.ts';
import { estimateRtt } from './vivaldi.ts';

/** A device and how many of its slots to take. */
export interface Pick {
  readonly device: PoolDevice;
  readonly slots: number;
}

/** Total for a duration: price per hour × hours, hours rounded to whole seconds, result rounded half up. */
export function priceForHours(pricePerHour: MicroUsd, hours: number): MicroUsd {
  const seconds = BigInt(Math.round(hours * 3600));
  return microUsd((pricePerHour * seconds + 1800n) / 3600n);
}

/** Largest and mean estimated RTT over pairs of distinct coordinates. */
export function rttStats(coordinates: readonly Coordinate[]): { maxRttMs: number; meanRttMs: number } {
  const n = coordinates.length;
  if (n < 2) return { maxRttMs: 0, meanRttMs: 0 };
  const x = Float64Array.from(coordinates, (c) => c.x);
  const y = Float64Array.from(coordinates, (c) => c.y);
  const h = Float64Array.from(coordinates, (c) => c.h);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[i] ?? 0;
    const yi = y[i] ?? 0;
    const hi = h[i] ?? 0;
    for (let j = i + 1; j < n; j++) {
      const dx = xi - (x[j] ?? 0);
      const dy = yi - (y[j] ?? 0);
      const r = Math.sqrt(dx * dx + dy * dy) + hi + (h[j] ?? 0);
      sum += r;
      if (r > max) max = r;
    }
  }
  return { maxRttMs: max, meanRttMs: sum / ((n * (n - 1)) / 2) };
}

/** Diameter (largest pairwise estimated RTT) of a set of coordinates. */
export function diameterOf(coordinates: readonly Coordinate[]): number {
  let max = 0;
  for (let i = 0; i < coordinates.length; i++) {
    const a = coordinates[i];
    if (!a) continue;
    for (let j = i + 1; j < coordinates.length; j++) {
      const b = coordinates[j];
      if (b) max = Math.max(max, estimateRtt(a, b));
    }
  }
  return max;
}

/** Builds the Placement answer from picks (each device at most once, slots > 0). */
export function buildPlacement(request: PlacementRequest, picks: readonly Pick[]): Placement {
  const sorted = [...picks].sort((a, b) => compareDevices(a.device, b.device));
  let pricePerHour = 0n;
  let slots = 0;
  const regions = new Set<RegionId>();
  const devices: PlacedDevice[] = sorted.map(({ device, slots: taken }) => {
    pricePerHour += device.pricePerGpuHour * BigInt(taken);
    slots += taken;
    regions.add(device.region);
    return {
      deviceId: device.deviceId,
      slots: taken,
      pricePerGpuHour: device.pricePerGpuHour,
      region: device.region,
      tier: device.tier,
      coordinate: device.coordinate,
    };
  });
  const stats = rttStats(sorted.map((p) => p.device.coordinate));
  const perHour = microUsd(pricePerHour);
  return {
    feasible: true,
    request,
    devices,
    slots,
    pricePerHour: perHour,
    totalPrice: priceForHours(perHour, request.hours),
    maxRttMs: stats.maxRttMs,
    meanRttMs: stats.meanRttMs,
    regions: [...regions].sort(),
  };
}

/** Cheapest-first: take slots in canonical order (price, then reputation) until `count` are filled. */
export function cheapestFirst(candidates: readonly PoolDevice[], count: number): Pick[] {
  const picks: Pick[] = [];
  let need = count;
  for (const device of candidates) {
    if (need <= 0) break;
    if (device.freeSlots <= 0) continue;
    const take = Math.min(device.freeSlots, need);
    picks.push({ device, slots: take });
    need -= take;
  }
  return picks;
}
