import { base58Encode, type DeviceId, type GpuModel, type MicroUsd, microUsd, type RandomSource, type Tier } from '@idlegrid/domain';
import { WORLD_CITIES, type WorldCity } from './cities.ts';
import { geoRttMs, type LatLon } from './geo.ts';
import { cityCoordinate } from './initial-coordinate.ts';
import type { PoolDevice } from './types.ts';

/** A model in a synthetic world: its share of slots and its typical price. */
export interface ModelMix {
  readonly model: GpuModel;
  readonly weight: number;
  readonly basePrice: MicroUsd;
}

/** A plausible market: consumer cards dominate, data-centre cards are dearer. */
export const DEFAULT_MODEL_MIX: readonly ModelMix[] = [
  { model: 'RTX4090', weight: 0.35, basePrice: microUsd(350_000n) },
  { model: 'RTX3090', weight: 0.15, basePrice: microUsd(200_000n) },
  { model: 'H100', weight: 0.15, basePrice: microUsd(2_000_000n) },
  { model: 'A100', weight: 0.12, basePrice: microUsd(1_200_000n) },
  { model: 'L40S', weight: 0.08, basePrice: microUsd(800_000n) },
  { model: 'H200', weight: 0.05, basePrice: microUsd(2_800_000n) },
  { model: 'cpu', weight: 0.1, basePrice: microUsd(20_000n) },
];

/** Options of syntheticPool. */
export interface SyntheticPoolOptions {
  /** Total free slots over all devices (exact). */
  readonly slots: number;
  readonly random: RandomSource;
  readonly models?: readonly ModelMix[];
  readonly cities?: readonly WorldCity[];
  /** Share of verified devices (default 0.9). */
  readonly verifiedShare?: number;
}

function pickWeighted<T>(items: readonly T[], weight: (item: T) => number, random: RandomSource): T {
  let total = 0;
  for (const item of items) total += weight(item);
  let r = random() * total;
  for (const item of items) {
    r -= weight(item);
    if (r < 0) return item;
  }
  const last = items[items.length - 1];
  if (last === undefined) throw new RangeError('pickWeighted needs at least one item');
  return last;
}

/** A random device id shaped like a real one (base58 of 32 bytes). */
export function syntheticDeviceId(random: RandomSource): DeviceId {
  const bytes = Uint8Array.from({ length: 32 }, () => Math.floor(random() * 256));
  return base58Encode(bytes) as DeviceId;
}

const TIER_MIX: ReadonlyArray<{ tier: Tier; weight: number; lo: number; hi: number }> = [
  { tier: 'bronze', weight: 0.2, lo: 300, hi: 599 },
  { tier: 'silver', weight: 0.4, lo: 600, hi: 799 },
  { tier: 'gold', weight: 0.3, lo: 800, hi: 899 },
  { tier: 'platinum', weight: 0.1, lo: 900, hi: 1000 },
];

const DATACENTER = new Set<GpuModel>(['H100', 'H200', 'A100', 'L40S', 'A800', 'H800', 'B200', 'GH200']);

function slotsFor(model: GpuModel, random: RandomSource): number {
  if (model === 'cpu') return 1;
  const r = random();
  if (DATACENTER.has(model)) return r < 0.2 ? 1 : r < 0.4 ? 2 : r < 0.7 ? 4 : 8;
  return r < 0.4 ? 1 : r < 0.7 ? 2 : r < 0.85 ? 3 : 4;
}

/** Access delay of a host in ms: mostly 0.5–3, sometimes a slow last mile. */
export function syntheticAccessMs(random: RandomSource): number {
  const r = random();
  return r < 0.8 ? 0.5 + 2.5 * random() : 3 + 7 * random();
}

/**
 * A realistic pool: devices in the world cities (weighted by city size), a mix of
 * models, prices around each model's base (±, in whole cents), tiers with matching
 * reputation, several slots per device, coordinates = the city's embedded coordinate
 * plus metro jitter, height = the city's height plus an access delay.
 */
export function syntheticPool(options: SyntheticPoolOptions): PoolDevice[] {
  const { random } = options;
  const models = options.models ?? DEFAULT_MODEL_MIX;
  const cities = options.cities ?? WORLD_CITIES;
  const verifiedShare = options.verifiedShare ?? 0.9;
  const devices: PoolDevice[] = [];
  let remaining = options.slots;
  while (remaining > 0) {
    const mix = pickWeighted(models, (m) => m.weight, random);
    const city = pickWeighted(cities, (c) => c.weight, random);
    const tier = pickWeighted(TIER_MIX, (t) => t.weight, random);
    const slots = Math.min(remaining, slotsFor(mix.model, random));
    remaining -= slots;
    const cents = (mix.basePrice * BigInt(Math.round((0.7 + 0.8 * random()) * 1000))) / 1000n / 10_000n;
    const base = cityCoordinate(city);
    const angle = random() * 2 * Math.PI;
    const radius = 0.6 * Math.sqrt(random());
    devices.push({
      deviceId: syntheticDeviceId(random),
      model: mix.model,
      freeSlots: slots,
      pricePerGpuHour: microUsd((cents < 1n ? 1n : cents) * 10_000n),
      tier: tier.tier,
      region: city.region,
      verified: random() < verifiedShare,
      reputation: tier.lo + Math.floor(random() * (tier.hi - tier.lo + 1)),
      coordinate: {
        x: base.x + radius * Math.cos(angle),
        y: base.y + radius * Math.sin(angle),
        h: base.h + syntheticAccessMs(random),
      },
    });
  }
  return devices;
}

/** A host of a synthetic network: a place near a world city and an access delay. */
export interface SyntheticHost extends LatLon {
  readonly city: WorldCity;
  readonly accessMs: number;
}

/** Hosts scattered (±0.3°) around cities picked by weight. */
export function syntheticHosts(count: number, random: RandomSource, cities: readonly WorldCity[] = WORLD_CITIES): SyntheticHost[] {
  return Array.from({ length: count }, () => {
    const city = pickWeighted(cities, (c) => c.weight, random);
    return {
      city,
      latitude: city.latitude + (random() - 0.5) * 0.6,
      longitude: city.longitude + (random() - 0.5) * 0.6,
      accessMs: syntheticAccessMs(random),
    };
  });
}

/** The "real" RTT between two hosts: great-circle km ÷ 100 km/ms plus both access delays. */
export function hostRttMs(a: SyntheticHost, b: SyntheticHost): number {
  return geoRttMs(a, b) + a.accessMs + b.accessMs;
}

/**
 * A small tight-placement instance for checking against brute force: `devices`
 * verified RTX4090 devices with 1–3 free slots each in world cities, one price
 * band. Pair it with a request of 6 slots.
 */
export function smallTightInstance(random: RandomSource, devices = 24): PoolDevice[] {
  const pool = syntheticPool({
    slots: devices * 4,
    random,
    models: [{ model: 'RTX4090', weight: 1, basePrice: microUsd(350_000n) }],
    verifiedShare: 1,
  }).slice(0, devices);
  return pool.map((d) => ({ ...d, freeSlots: 1 + Math.floor(random() * 3) }));
}
