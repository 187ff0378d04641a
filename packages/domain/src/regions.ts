import type { Brand } from './brand.ts';
import { IdlegridError } from './errors.ts';

export type RegionId = Brand<string, 'RegionId'>;

export interface RegionInfo {
  readonly id: RegionId;
  readonly name: string;
  readonly latitude: number;
  readonly longitude: number;
}

function region(id: string, name: string, latitude: number, longitude: number): RegionInfo {
  return { id: id as RegionId, name, latitude, longitude };
}

/** Regions a device may declare, named like cloud regions, each at a representative city. */
export const REGIONS: readonly RegionInfo[] = [
  region('us-east', 'Ashburn, Virginia', 39.04, -77.49),
  region('us-central', 'Dallas, Texas', 32.78, -96.8),
  region('us-west', 'San Jose, California', 37.34, -121.89),
  region('us-northwest', 'Portland, Oregon', 45.52, -122.68),
  region('ca-central', 'Montreal, Quebec', 45.5, -73.57),
  region('sa-east', 'Sao Paulo, Brazil', -23.55, -46.63),
  region('eu-west', 'Dublin, Ireland', 53.35, -6.26),
  region('uk-south', 'London, United Kingdom', 51.51, -0.13),
  region('eu-central', 'Frankfurt, Germany', 50.11, 8.68),
  region('eu-north', 'Stockholm, Sweden', 59.33, 18.07),
  region('eu-south', 'Milan, Italy', 45.46, 9.19),
  region('me-central', 'Dubai, United Arab Emirates', 25.2, 55.27),
  region('af-south', 'Johannesburg, South Africa', -26.2, 28.05),
  region('ap-south', 'Mumbai, India', 19.08, 72.88),
  region('ap-southeast', 'Singapore', 1.35, 103.82),
  region('ap-east', 'Hong Kong', 22.32, 114.17),
  region('ap-northeast', 'Tokyo, Japan', 35.68, 139.69),
  region('kr-central', 'Seoul, South Korea', 37.57, 126.98),
  region('au-east', 'Sydney, Australia', -33.87, 151.21),
  region('local', 'This machine (local development network)', 0, 0),
];

const BY_ID = new Map<string, RegionInfo>(REGIONS.map((r) => [r.id, r]));

export function isRegionId(value: string): value is RegionId {
  return BY_ID.has(value);
}

export function parseRegion(value: string): RegionId {
  if (!isRegionId(value)) {
    throw new IdlegridError('VALIDATION_FAILED', {
      where: 'region',
      issues: [{ path: 'region', message: `unknown region ${value}; known: ${REGIONS.map((r) => r.id).join(', ')}` }],
    });
  }
  return value;
}

export function regionInfo(id: RegionId): RegionInfo {
  const info = BY_ID.get(id);
  if (!info) throw new IdlegridError('NOT_FOUND', { resource: 'region', id });
  return info;
}
