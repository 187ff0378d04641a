import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { newLeaseId, seededRandom, systemClock, type DeviceId, type RegionId } from '@idlegrid/domain';
import type { LeaseStatusMessage } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { DeviceRegistry, type LiveDevice } from '../live/device-registry.ts';
import { liveDevice } from '../testing/live-device.ts';
import { until } from '../testing/test-agent.ts';
import { splitMessages } from './bus-messages.ts';
import { MemoryLeaderLocks } from './leader-lock.ts';
import { MemoryBusHub, type ReplicaBus } from './replica-bus.ts';
import { ReplicaSet, type LeaderBoundMessage } from './replica-set.ts';

/** Replicas in one process over the in-memory bus and lock: device mirroring, the lead, orphans. */
describe('ReplicaSet', () => {
  const running: ReplicaSet[] = [];
  let store: Store;

  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
    await store.close();
  });

  interface Replica {
    set: ReplicaSet;
    registry: DeviceRegistry;
    agentMessages: Array<{ deviceId: DeviceId; message: LeaderBoundMessage }>;
    deposed: string[];
    orphans: Array<{ id: DeviceId; lastSeenMs: number }>;
    published: string[];
    /** While true, nothing reaches this replica (its bus connection is broken). */
    deaf: { on: boolean };
  }

  async function replicas(n: number, o: { maxBytes?: number } = {}): Promise<{ list: Replica[]; locks: MemoryLeaderLocks; hub: MemoryBusHub }> {
    store = await openStore({ kind: 'sqlite', path: ':memory:' });
    const hub = new MemoryBusHub();
    const locks = new MemoryLeaderLocks();
    const list: Replica[] = [];
    for (let i = 0; i < n; i++) {
      const registry = new DeviceRegistry();
      const inner = hub.connect(o.maxBytes);
      const published: string[] = [];
      const deaf = { on: false };
      const bus: ReplicaBus = {
        ...inner,
        publish: (m) => { published.push(JSON.stringify(m)); return inner.publish(m); },
        subscribe: (onMessage, onResync) => inner.subscribe((m) => { if (!deaf.on) onMessage(m); }, onResync),
      };
      const r: Replica = { registry, agentMessages: [], deposed: [], orphans: [], published, deaf, set: undefined as unknown as ReplicaSet };
      r.set = new ReplicaSet({
        id: `r-test${i}`, bus, lock: locks.factory(), registry, store, clock: systemClock, logger: pino({ level: 'silent' }), chain: 'rpc:test',
        lossSeconds: 0.4, tickMs: 50,
        onElected: () => Promise.resolve(), onDeposed: (reason) => r.deposed.push(reason),
        onAgentMessage: (deviceId, message) => r.agentMessages.push({ deviceId, message }),
        onSettleNudge: () => undefined, onLeasesChanged: () => undefined,
        onOrphansDropped: (devices) => r.orphans.push(...devices),
      });
      running.push(r.set);
      list.push(r);
    }
    return { list, locks, hub };
  }

  /** A device connected to `r`, recorded in the store as its hello would. */
  async function connect(r: Replica, overrides: Partial<LiveDevice> = {}): Promise<LiveDevice & { outbox: Array<Record<string, unknown>> }> {
    const outbox: Array<Record<string, unknown>> = [];
    const d = { ...liveDevice({ outbox }), ...overrides };
    await store.devices.upsertOnHello({ id: d.id, hardware: d.hardware, gpuModel: d.gpuModel, gpuCount: d.slots, region: 'local' as RegionId, pricePerGpuHour: d.pricePerGpuHour, payout: d.payout, agentVersion: 'test', nowMs: 1_000 });
    r.registry.connect(d);
    return Object.assign(d, { outbox });
  }

  /** Two replicas joined and started, and a device on the first that the second mirrors. */
  async function twoWithDevice(): Promise<{ r0: Replica; r1: Replica; d: Awaited<ReturnType<typeof connect>> }> {
    const { list: [r0, r1] } = await replicas(2);
    for (const r of [r0!, r1!]) await r.set.join();
    r0!.set.start('http://r0');
    r1!.set.start('http://r1');
    const d = await connect(r0!);
    await until(() => r1!.registry.get(d.id)?.owner === 'r-test0', 2_000, 'the device on the other replica');
    return { r0: r0!, r1: r1!, d };
  }

  it('shows every replica the devices of the others, and relays what is sent to them', async () => {
    const { r0, r1, d } = await twoWithDevice();
    const remote = r1.registry.get(d.id)!;
    expect(remote).toMatchObject({ gpuModel: 'cpu', slots: 1, verified: true, payout: d.payout });
    expect(r1.registry.silentSince(Date.now() + 3_600_000, 1)).toEqual([]);

    // An epoch on the other replica changes its standing: the owner hears it; a move on the owner travels back.
    r1.registry.setStanding(d.id, { tier: 'gold', reputation: 850 });
    await until(() => r0.registry.get(d.id)?.tier === 'gold', 2_000, 'standing at the owner');
    r0.registry.heartbeat(d.id, d.sessionId, Date.now(), { x: 3, y: 4, h: 1, error: 0.2 });
    await until(() => r1.registry.get(d.id)?.coordinate?.x === 3, 2_000, 'coordinate at the other');

    // A message for the device from the other replica reaches its connection.
    expect(remote.send({ type: 'release', leaseId: 'lse_x', reason: 'test' })).toBe(true);
    await until(() => d.outbox.length === 1, 2_000, 'relayed message');
    expect(d.outbox[0]).toEqual({ type: 'release', leaseId: 'lse_x', reason: 'test' });

    // The owner loses it: it leaves the other registry with its last heartbeat.
    r0.registry.remove(d.id, d.sessionId);
    await until(() => r1.registry.get(d.id) === undefined, 2_000, 'gone on the other');
  });

  it('splits large announcements under the payload limit and moves a device that reconnects to another replica', async () => {
    const { list: [r0, r1] } = await replicas(2, { maxBytes: 2_000 });
    await r0!.set.join();
    await r1!.set.join();
    const devices = [];
    for (let i = 0; i < 120; i++) devices.push(await connect(r0!));
    await until(() => r1!.registry.size === 120, 3_000, '120 devices mirrored');
    expect(r0!.published.length).toBeGreaterThan(5);
    for (const m of r0!.published) expect(Buffer.byteLength(m)).toBeLessThanOrEqual(2_000);

    // The same device key says hello at r1: r0's connection is closed as replaced, r1 owns it everywhere.
    const moved = devices[0]!;
    let replaced = '';
    r0!.registry.connect({ ...moved, disconnect: (code) => { replaced = code; } });
    const again = { ...moved, sessionId: 9_999_999 };
    r1!.registry.connect(again);
    await until(() => r0!.registry.get(moved.id)?.owner === 'r-test1', 2_000, 'owned by r1 on r0');
    expect(replaced).toBe('AGENT_REPLACED');
  });

  it('elects one leader, hands agent messages to it, and drops a gone replica’s devices that did not come back', async () => {
    const { list: [r0, r1], locks } = await replicas(2);
    await r0!.set.join();
    r0!.set.start('http://r0');
    await until(() => r0!.set.isLeader, 2_000, 'r0 leads');
    const { alone } = await r1!.set.join();
    expect(alone).toBe(false);
    r1!.set.start('http://r1');
    await until(() => r1!.set.leaderUrl() === 'http://r0', 2_000, 'r1 knows the leader');
    expect(r1!.set.view().map((p) => [p.id, p.leader])).toEqual([['r-test0', true], ['r-test1', false]]);

    const kept = await connect(r0!);
    const lost = await connect(r0!);
    const status = { type: 'lease-status', seq: 1, leaseId: newLeaseId(seededRandom(1)), state: 'starting', rayNodeId: null, endpoint: null, reason: null, sig: '1'.repeat(64) } as LeaseStatusMessage;
    const onR1 = await connect(r1!);
    r1!.set.toLeader(onR1.id, status);
    await until(() => r0!.agentMessages.length === 1, 2_000, 'the leader got the status');
    expect(r0!.agentMessages[0]?.deviceId).toBe(onR1.id);
    await until(() => r1!.registry.get(lost.id) !== undefined && r1!.registry.get(kept.id) !== undefined, 2_000, 'mirrored');

    // r0's session ends (its host vanished): it is deposed (and, as its process would, stops); r1 takes the lead.
    locks.revoke('session ended');
    expect(r0!.deposed).toEqual(['session ended']);
    expect(r0!.set.isLeader).toBe(false);
    await r0!.set.stop();
    await until(() => r1!.set.isLeader, 5_000, 'r1 leads');
    // One agent reconnects to r1 in time; the other never does and goes offline at its stored last heartbeat.
    r1!.registry.connect({ ...kept, sessionId: 7_777_777 });
    await store.devices.markSeenBatch([{ id: lost.id, lastSeenMs: 5_000 }]);
    await until(() => r1!.orphans.length === 1, 5_000, 'the orphan dropped');
    expect(r1!.orphans).toEqual([{ id: lost.id, lastSeenMs: 5_000 }]);
    expect(r1!.registry.get(lost.id)).toBeUndefined();
    expect(r1!.registry.get(kept.id)?.owner).toBeUndefined();
  });

  it('does not take the others for gone while its own bus is broken (it stops hearing itself too)', async () => {
    const { r1, d } = await twoWithDevice();
    r1.deaf.on = true;
    await new Promise((r) => setTimeout(r, 1_200));
    expect(r1.orphans).toEqual([]);
    expect(r1.registry.get(d.id)?.owner).toBe('r-test0');
    r1.deaf.on = false;
    await new Promise((r) => setTimeout(r, 600));
    expect(r1.orphans).toEqual([]);
    expect(r1.set.view().map((p) => p.id)).toEqual(['r-test0', 'r-test1']);
  });

  it('refuses to join replicas that settle on another chain', async () => {
    const { list: [r0], hub } = await replicas(1);
    await r0!.set.join();
    r0!.set.start('http://r0');
    // A second replica on the same bus, settling on another chain.
    const other = new ReplicaSet({
      id: 'r-other', bus: hub.connect(), lock: new MemoryLeaderLocks().factory(), registry: new DeviceRegistry(), store,
      clock: systemClock, logger: pino({ level: 'silent' }), chain: 'embedded:someone-else', lossSeconds: 1, tickMs: 50,
      onElected: () => Promise.resolve(), onDeposed: () => undefined, onAgentMessage: () => undefined, onSettleNudge: () => undefined, onLeasesChanged: () => undefined,
    });
    await expect(other.join()).rejects.toThrow(/must share one chain/);
  });

  it('splits a list into messages of at most the given size', () => {
    const items = Array.from({ length: 50 }, (_, i) => ({ id: `device-${i}`, seen: i }));
    const out = splitMessages(items, (devices) => ({ t: 'down', devices }), 300);
    expect(out.flatMap((m) => m.devices)).toEqual(items);
    for (const m of out) expect(Buffer.byteLength(JSON.stringify(m))).toBeLessThanOrEqual(300);
  });
});
