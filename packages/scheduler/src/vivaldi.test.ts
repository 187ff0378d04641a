import { describe, expect, it } from 'vitest';
import { isIdlegridError, REGIONS, seededRandom, type DeviceId, type RegionId } from '@idlegrid/domain';
import {
  DEFAULT_VIVALDI_PARAMS, estimateRtt, geoRttMs, hostRttMs, INITIAL_VIVALDI_ERROR, initialCoordinate, pickProbePeers,
  syntheticDeviceId, syntheticHosts, vivaldiUpdate, WORLD_CITIES, type Coordinate, type SyntheticHost,
} from './index.ts';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

describe('estimateRtt', () => {
  it('is plane distance plus both heights, and symmetric', () => {
    const a = { x: 0, y: 0, h: 1 };
    const b = { x: 3, y: 4, h: 2 };
    expect(estimateRtt(a, b)).toBe(8);
    expect(estimateRtt(b, a)).toBe(8);
  });
});

describe('vivaldiUpdate', () => {
  const params = { ...DEFAULT_VIVALDI_PARAMS, random: seededRandom(1) };

  it('moves the estimate towards the measured RTT and lowers the error when it fits', () => {
    const own = { x: 0, y: 0, h: 1 };
    const peer = { x: 10, y: 0, h: 1 };
    const before = estimateRtt(own, peer);
    const after = vivaldiUpdate(own, 1, peer, 0.2, 40, params);
    expect(estimateRtt(after.coordinate, peer)).toBeGreaterThan(before);
    expect(estimateRtt(after.coordinate, peer)).toBeLessThan(40);
    let state = { coordinate: own as Coordinate, error: 1 };
    for (let i = 0; i < 50; i++) state = vivaldiUpdate(state.coordinate, state.error, peer, 0.2, 40, params);
    expect(Math.abs(estimateRtt(state.coordinate, peer) - 40)).toBeLessThan(0.5);
    expect(state.error).toBeLessThan(0.1);
  });

  it('keeps the height at or above the minimum and ignores bogus samples', () => {
    const own = { x: 0, y: 0, h: 0.2 };
    const peer = { x: 100, y: 0, h: 0.2 };
    const closer = vivaldiUpdate(own, 1, peer, 1, 1, params);
    expect(closer.coordinate.h).toBeGreaterThanOrEqual(DEFAULT_VIVALDI_PARAMS.minHeightMs);
    for (const bogus of [0, -5, Number.NaN, Infinity, 1e9]) {
      expect(vivaldiUpdate(own, 0.5, peer, 1, bogus, params)).toEqual({ coordinate: own, error: 0.5 });
    }
  });

  it('separates coincident coordinates and never produces non-finite values', () => {
    const same = { x: 5, y: 5, h: 0.1 };
    const moved = vivaldiUpdate(same, 1, same, 1, 30, params);
    expect(Math.hypot(moved.coordinate.x - 5, moved.coordinate.y - 5)).toBeGreaterThan(0);
    const noRandom = vivaldiUpdate(same, 1, same, 1, 30);
    expect(Number.isFinite(noRandom.coordinate.x) && Number.isFinite(noRandom.coordinate.y)).toBe(true);
    const tooFar = vivaldiUpdate({ x: 0, y: 0, h: 20 }, 1, { x: 0, y: 0, h: 20 }, 1, 10, params);
    expect(tooFar.coordinate.h).toBeLessThan(20);
  });
});

describe('initialCoordinate', () => {
  it('places regions so that estimates follow great-circle distance plus a few ms', () => {
    const real = REGIONS.filter((r) => r.id !== 'local');
    const errors: number[] = [];
    for (const a of real) {
      for (const b of real) {
        if (a.id === b.id) continue;
        const truth = geoRttMs(a, b) + 4;
        errors.push(Math.abs(estimateRtt(initialCoordinate(a.id), initialCoordinate(b.id)) - truth) / truth);
      }
    }
    expect(median(errors)).toBeLessThan(0.1);
    expect(Math.max(...errors)).toBeLessThan(0.6);
  });

  it('is deterministic, spreads devices of one region by id within 1 ms, and rejects unknown regions', () => {
    const region = 'eu-central' as RegionId;
    const a = initialCoordinate(region, 'deviceA' as DeviceId);
    expect(initialCoordinate(region, 'deviceA' as DeviceId)).toEqual(a);
    const b = initialCoordinate(region, 'deviceB' as DeviceId);
    expect(a).not.toEqual(b);
    const base = initialCoordinate(region);
    expect(Math.hypot(a.x - base.x, a.y - base.y)).toBeLessThanOrEqual(1);
    expect(initialCoordinate('local' as RegionId).h).toBeGreaterThan(0);
    let thrown: unknown;
    try {
      initialCoordinate('mars-north' as RegionId);
    } catch (e) {
      thrown = e;
    }
    expect(isIdlegridError(thrown, 'NOT_FOUND')).toBe(true);
  });

  it('has a table of 40–60 real cities covering every region but local', () => {
    expect(WORLD_CITIES.length).toBeGreaterThanOrEqual(40);
    expect(WORLD_CITIES.length).toBeLessThanOrEqual(60);
    const covered = new Set(WORLD_CITIES.map((c) => c.region));
    for (const r of REGIONS) if (r.id !== 'local') expect(covered.has(r.id)).toBe(true);
  });
});

/** Runs Vivaldi rounds over hosts: each probes `peers` peers picked by pickProbePeers. */
function simulate(hosts: readonly SyntheticHost[], start: Coordinate[], rounds: number, seed: number): Coordinate[] {
  const random = seededRandom(seed);
  const params = { ...DEFAULT_VIVALDI_PARAMS, random };
  const ids = hosts.map(() => syntheticDeviceId(random));
  const coords = [...start];
  const errors = hosts.map(() => INITIAL_VIVALDI_ERROR);
  const index = new Map(ids.map((id, i) => [id as string, i]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < hosts.length; i++) {
      const id = ids[i] as DeviceId;
      const candidates = ids.map((deviceId, j) => ({ deviceId, coordinate: coords[j] }));
      for (const peerId of pickProbePeers(id, candidates, 8, random)) {
        const j = index.get(peerId) ?? 0;
        const measured = hostRttMs(hosts[i] as SyntheticHost, hosts[j] as SyntheticHost) * (1 + 0.05 * (random() - 0.5));
        const next = vivaldiUpdate(coords[i] as Coordinate, errors[i] ?? 1, coords[j] as Coordinate, errors[j] ?? 1, measured, params);
        coords[i] = next.coordinate;
        errors[i] = next.error;
      }
    }
  }
  return coords;
}

function medianRelativeError(hosts: readonly SyntheticHost[], coords: readonly Coordinate[]): number {
  const errors: number[] = [];
  for (let i = 0; i < hosts.length; i++) {
    for (let j = i + 1; j < hosts.length; j++) {
      const truth = hostRttMs(hosts[i] as SyntheticHost, hosts[j] as SyntheticHost);
      errors.push(Math.abs(estimateRtt(coords[i] as Coordinate, coords[j] as Coordinate) - truth) / truth);
    }
  }
  return median(errors);
}

describe('Vivaldi convergence on a world of real cities', () => {
  const hosts = syntheticHosts(150, seededRandom(11));

  it('gets under 25 % median relative error within a few rounds from region starts', () => {
    const start = hosts.map((h, i) => initialCoordinate(h.city.region, `host${i}` as DeviceId));
    const initial = medianRelativeError(hosts, start);
    const after = medianRelativeError(hosts, simulate(hosts, start, 5, 3));
    expect(after).toBeLessThan(0.25);
    expect(after).toBeLessThan(initial);
  });

  it('converges from scratch too (all devices at the origin) within 15 rounds', () => {
    const start = hosts.map(() => ({ x: 0, y: 0, h: DEFAULT_VIVALDI_PARAMS.minHeightMs }));
    expect(medianRelativeError(hosts, simulate(hosts, start, 15, 4))).toBeLessThan(0.25);
  });
});

describe('pickProbePeers', () => {
  const random = seededRandom(5);
  const ids = Array.from({ length: 40 }, () => syntheticDeviceId(random));
  const coords = ids.map((_, i) => ({ x: i, y: 0, h: 0.5 }));
  const candidates = ids.map((deviceId, i) => ({ deviceId, coordinate: coords[i] }));
  const self = ids[10] as DeviceId;

  it('returns distinct peers, never the device itself, at most count', () => {
    const picked = pickProbePeers(self, candidates, 9, seededRandom(1));
    expect(picked).toHaveLength(9);
    expect(new Set(picked).size).toBe(9);
    expect(picked).not.toContain(self);
    expect(pickProbePeers(self, candidates.slice(8, 12), 10, seededRandom(1))).toHaveLength(3);
    expect(pickProbePeers(self, [], 3, seededRandom(1))).toEqual([]);
  });

  it('includes the nearest peers when coordinates are known, and is deterministic', () => {
    const picked = pickProbePeers(self, candidates, 9, seededRandom(2));
    expect(picked).toContain(ids[9]);
    expect(picked).toContain(ids[11]);
    expect(pickProbePeers(self, candidates, 9, seededRandom(2))).toEqual(picked);
  });
});
