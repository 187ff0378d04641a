import { describe, expect, it } from 'vitest';
import { seededRandom, type DeviceId } from '@idlegrid/domain';
import { probeSchema } from '@idlegrid/protocol';
import { initialCoordinate, INITIAL_VIVALDI_ERROR } from '@idlegrid/scheduler';
import { liveDevice } from '../testing/live-device.ts';
import { DeviceRegistry, type LiveDevice } from './device-registry.ts';
import { ProbePlanner, type ProbePlan } from './probe-planner.ts';

type Coordinate = NonNullable<LiveDevice['coordinate']>;

function device(echoAddress: string | null, coordinate: Coordinate | null = null): LiveDevice {
  return { ...liveDevice(), echoAddress, coordinate };
}

function registryOf(devices: readonly LiveDevice[]): DeviceRegistry {
  const registry = new DeviceRegistry();
  for (const d of devices) registry.connect(d);
  return registry;
}

/** n devices with echoes on a line, 10 ms apart, plus two without an echo. */
function pool(n: number): { devices: LiveDevice[]; silent: LiveDevice[] } {
  const devices = Array.from({ length: n }, (_, i) => device(`10.0.0.${i + 1}:7946`, { x: i * 10, y: 0, h: 1, error: 0.5 }));
  return { devices, silent: [device(null, { x: 0, y: 0, h: 1 }), device(null)] };
}

const peersOf = (plan: ProbePlan | null | undefined): string[] => plan?.message.peers.map((p) => p.deviceId) ?? [];

describe('ProbePlanner', () => {
  it('asks every device with an echo to measure other such devices, never itself', () => {
    const { devices, silent } = pool(10);
    const registry = registryOf([...devices, ...silent]);
    const plans = new ProbePlanner({ registry, random: seededRandom(1) }).plan();
    expect(plans.map((p) => p.deviceId).sort()).toEqual(devices.map((d) => d.id).sort());
    const withEcho = new Set<string>(devices.map((d) => d.id));
    for (const plan of plans) {
      expect(probeSchema.parse(plan.message)).toEqual(plan.message);
      const peers = peersOf(plan);
      expect(peers).toHaveLength(4);
      expect(new Set(peers).size).toBe(4);
      expect(peers).not.toContain(plan.deviceId);
      for (const peer of plan.message.peers) {
        expect(withEcho.has(peer.deviceId)).toBe(true);
        const d = registry.get(peer.deviceId);
        expect(peer.address).toBe(d?.echoAddress);
        expect(peer.coordinate).toEqual(d?.coordinate);
      }
    }
  });

  it('sends coordinates when known, else the region start point, with the initial error when none was reported', () => {
    const a = device('10.0.0.1:1', { x: 1, y: 2, h: 3 });
    const b = device('[2001:db8::2]:2');
    const plans = new ProbePlanner({ registry: registryOf([a, b]), random: seededRandom(2) }).plan();
    const fromB = plans.find((p) => p.deviceId === b.id);
    const fromA = plans.find((p) => p.deviceId === a.id);
    expect(fromB?.message.peers).toEqual([{ deviceId: a.id, address: '10.0.0.1:1', coordinate: { x: 1, y: 2, h: 3, error: INITIAL_VIVALDI_ERROR } }]);
    expect(fromA?.message.peers).toEqual([
      { deviceId: b.id, address: '[2001:db8::2]:2', coordinate: { ...initialCoordinate(b.region, b.id), error: INITIAL_VIVALDI_ERROR } },
    ]);
  });

  it('plans nothing without at least two devices with echoes, or with zero peers per round', () => {
    const { devices, silent } = pool(1);
    expect(new ProbePlanner({ registry: registryOf([...devices, ...silent]), random: seededRandom(3) }).plan()).toEqual([]);
    expect(new ProbePlanner({ registry: registryOf(pool(5).devices), random: seededRandom(3), peersPerRound: 0 }).plan()).toEqual([]);
  });

  it('is deterministic for a seeded random, whatever order devices connected in', () => {
    const { devices, silent } = pool(30);
    const plan = (order: LiveDevice[], seed: number) => new ProbePlanner({ registry: registryOf(order), random: seededRandom(seed), peersPerRound: 5 }).plan();
    const first = plan([...devices, ...silent], 42);
    expect(plan([...silent, ...devices].reverse(), 42)).toEqual(first);
    expect(plan(devices, 43)).not.toEqual(first);
  });

  it('picks about a third of the peers nearest by coordinate, the rest at random', () => {
    const { devices } = pool(40);
    const planner = new ProbePlanner({ registry: registryOf(devices), random: seededRandom(5), peersPerRound: 3, candidateSample: 64 });
    for (const plan of planner.plan()) {
      const i = devices.findIndex((d) => d.id === plan.deviceId);
      const neighbours = [devices[i - 1]?.id, devices[i + 1]?.id];
      expect(peersOf(plan).some((p) => neighbours.includes(p as DeviceId))).toBe(true);
    }
  });

  it('samples candidates in a large pool, spreads the load, and learns each device\'s nearest peers over rounds', () => {
    const { devices } = pool(400);
    const planner = new ProbePlanner({ registry: registryOf(devices), random: seededRandom(6), candidateSample: 8, peersPerRound: 3 });
    const plans = planner.plan();
    expect(plans).toHaveLength(400);
    const probed = new Set<string>();
    for (const plan of plans) {
      const peers = peersOf(plan);
      expect(new Set(peers).size).toBe(3);
      expect(peers).not.toContain(plan.deviceId);
      for (const p of peers) probed.add(p);
    }
    expect(probed.size).toBeGreaterThan(250); // load spreads over the pool
    const withNeighbour = (round: ProbePlan[]): number =>
      round.filter((plan) => {
        const i = devices.findIndex((d) => d.id === plan.deviceId);
        return peersOf(plan).some((p) => p === devices[i - 1]?.id || p === devices[i + 1]?.id);
      }).length;
    const early = withNeighbour(plans);
    let late = 0;
    for (let r = 0; r < 10; r++) late = withNeighbour(planner.plan());
    expect(early).toBeLessThan(200); // a sample of 8 of 400 rarely holds a neighbour…
    expect(late).toBeGreaterThan(350); // …but remembered nearest peers converge to them
  });

  it('plans a large pool in slices when given a limit, continuing where it stopped', () => {
    const { devices } = pool(10);
    const registry = registryOf(devices);
    const planner = new ProbePlanner({ registry, random: seededRandom(8) });
    const sorted = devices.map((d) => d.id).sort();
    expect(planner.plan(4).map((p) => p.deviceId)).toEqual(sorted.slice(0, 4));
    expect(planner.plan(4).map((p) => p.deviceId)).toEqual(sorted.slice(4, 8));
    expect(planner.plan(4).map((p) => p.deviceId)).toEqual([...sorted.slice(8), ...sorted.slice(0, 2)]);
    registry.remove(sorted[2] as DeviceId, registry.get(sorted[2] as DeviceId)!.sessionId);
    expect(planner.plan(2).map((p) => p.deviceId)).toEqual([sorted[3], sorted[4]]);
    expect(planner.plan(100)).toHaveLength(9);
    expect(planner.plan(0)).toEqual([]);
  });

  it('plans one device on demand and keeps only the RTTs it asked for', () => {
    const { devices, silent } = pool(6);
    const registry = registryOf([...devices, ...silent]);
    const planner = new ProbePlanner({ registry, random: seededRandom(7), peersPerRound: 2 });
    const target = devices[2]!;
    expect(planner.planFor(silent[0]!.id)).toBeNull();
    expect(planner.noteResult(target.id, [{ deviceId: devices[0]!.id, rttMs: 1 }])).toBe(0);
    const plan = planner.planFor(target.id);
    const [p1, p2] = peersOf(plan);
    const stranger = devices.find((d) => d.id !== target.id && d.id !== p1 && d.id !== p2)!;
    const kept = planner.noteResult(target.id, [
      { deviceId: p1!, rttMs: 12.5 }, { deviceId: p2!, rttMs: null }, { deviceId: stranger.id, rttMs: 3 },
    ]);
    expect(kept).toBe(2);
    expect(planner.lastReport(target.id)).toEqual({ rtts: [{ deviceId: p1, rttMs: 12.5 }, { deviceId: p2, rttMs: null }] });

    registry.remove(target.id, target.sessionId);
    expect(planner.plan().map((p) => p.deviceId)).not.toContain(target.id);
    expect(planner.lastReport(target.id)).toBeUndefined();
  });
});
