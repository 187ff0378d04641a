import { IdlegridError, REGIONS, type DeviceId, type RegionId } from '@idlegrid/domain';
import { WORLD_CITIES, type WorldCity } from './cities.ts';
import { embedGeoPoints } from './embedding.ts';
import type { Coordinate } from './types.ts';

/** Access delay (ms) added to the height of a new device: last mile, NIC, kernel. */
export const INITIAL_ACCESS_MS = 2;
/** New devices of one region are spread over a disc of this radius (ms), by device id. */
const JITTER_MS = 1;

interface WorldFrame {
  readonly regions: ReadonlyMap<string, Coordinate>;
  readonly cities: ReadonlyMap<string, Coordinate>;
}

let frame: WorldFrame | undefined;

/** One embedding of every region and world city, computed once on first use (≈ tens of ms). */
function worldFrame(): WorldFrame {
  if (frame) return frame;
  const regions = REGIONS.filter((r) => r.id !== 'local');
  const coords = embedGeoPoints([...regions, ...WORLD_CITIES]);
  frame = {
    regions: new Map(regions.map((r, i) => [r.id, coords[i] ?? { x: 0, y: 0, h: 0 }])),
    cities: new Map(WORLD_CITIES.map((c, i) => [c.name, coords[regions.length + i] ?? { x: 0, y: 0, h: 0 }])),
  };
  return frame;
}

/** FNV-1a of a string, as a number in [0, 1). */
function hashUnit(text: string, salt: number): number {
  let hash = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 4294967296;
}

/**
 * The coordinate a new device starts from, derived from its declared region: the
 * region's place in a deterministic embedding of the world (estimated RTT between
 * regions ≈ great-circle km ÷ 100 km/ms), height raised by a few ms of access delay.
 * With a device id, devices of one region get distinct points (≤ 1 ms apart) so
 * Vivaldi can tell them apart. The `local` region sits at the origin.
 */
export function initialCoordinate(region: RegionId, deviceId?: DeviceId): Coordinate {
  let base: Coordinate;
  if (region === 'local') {
    base = { x: 0, y: 0, h: 0 };
  } else {
    const found = worldFrame().regions.get(region);
    if (!found) throw new IdlegridError('NOT_FOUND', { resource: 'region', id: region });
    base = found;
  }
  const h = region === 'local' ? 0.5 : base.h + INITIAL_ACCESS_MS;
  if (deviceId === undefined) return { x: base.x, y: base.y, h };
  const angle = hashUnit(deviceId, 1) * 2 * Math.PI;
  const radius = JITTER_MS * Math.sqrt(hashUnit(deviceId, 2));
  return { x: base.x + radius * Math.cos(angle), y: base.y + radius * Math.sin(angle), h };
}

/** A world city's coordinate in the same frame as initialCoordinate (height = fitted height, no access delay). */
export function cityCoordinate(city: WorldCity): Coordinate {
  const found = worldFrame().cities.get(city.name);
  if (!found) throw new IdlegridError('NOT_FOUND', { resource: 'city', id: city.name });
  return found;
}
