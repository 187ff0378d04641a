import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, seededRandom, toAddress, type DeviceId, type LeaseId } from '@idlegrid/domain';
import { generateKeypair, signBytes, type LeaseStatusMessage } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig } from '../config.ts';
import type { LiveDevice } from '../live/device-registry.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import { fundEscrowForTest } from '../testing/fund-escrow.ts';
import { liveDevice } from '../testing/live-device.ts';
import type { NodeAbandoned } from './lease-types.ts';

type Sent = Array<Record<string, unknown>>;

let store: Store;
let cloud: CloudApp;
let inspector: FakeInspector;
const clock = manualClock(1_800_000_000_000);
const buyer = toAddress(generateKeypair().address);
const devices: Array<{ live: LiveDevice; outbox: Sent }> = [];
const abandoned: NodeAbandoned[] = [];

beforeEach(async () => {
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  inspector = new FakeInspector();
  cloud = createCloudApp({
    config: loadCloudConfig({}, { provisionTimeoutSeconds: 60 }),
    store, clock, random: seededRandom(9), logger: pino({ level: 'silent' }), inspector,
    onNodeAbandoned: (a) => {
      abandoned.push(a);
      return Promise.resolve();
    },
  });
  await fundEscrowForTest(store, buyer, 1_000_000_000n);
  devices.length = 0;
  abandoned.length = 0;
  for (let i = 0; i < 4; i++) {
    const outbox: Sent = [];
    const live = liveDevice({ region: 'us-east', price: BigInt(100_000 + i * 10_000), outbox });
    cloud.registry.connect(live);
    devices.push({ live, outbox });
  }
});

afterEach(async () => {
  await cloud.leases.stop();
  await store.close();
});

function status(leaseId: LeaseId, device: LiveDevice, state: LeaseStatusMessage['state'], extra: Partial<LeaseStatusMessage> = {}): void {
  const message = { type: 'lease-status', seq: 1, leaseId, state, rayNodeId: null, endpoint: null, reason: null, sig: '1'.repeat(64), ...extra } as LeaseStatusMessage;
  cloud.leases.onLeaseStatus(device.id, message);
}

/** Assign messages the fake agents have already acted on. */
const answered = new Set<Record<string, unknown>>();
const byId = (id: DeviceId) => devices.find((d) => d.live.id === id)!;
const assigns = (d: { outbox: Sent }) => d.outbox.filter((m) => m['type'] === 'assign');
const releases = (d: { outbox: Sent }) => d.outbox.filter((m) => m['type'] === 'release');

/** Plays the agents and Ray: every assigned node starts, joins and shows up alive in Ray. */
async function joinAll(leaseId: LeaseId): Promise<void> {
  for (let round = 0; round < 4; round++) {
    await cloud.leases.reconcile(leaseId);
    const nodes = (await store.leases.nodes(leaseId)).filter((n) => ['assigned', 'starting'].includes(n.state));
    for (const n of nodes) {
      const d = byId(n.deviceId);
      const assign = assigns(d).find((m) => m['leaseId'] === leaseId && !answered.has(m));
      if (!assign) continue;
      answered.add(assign);
      const isHead = assign['role'] === 'head';
      const ip = `10.0.0.${devices.indexOf(d) + 1}`;
      status(leaseId, d.live, 'joined', {
        rayNodeId: `ray-${n.id}`,
        endpoint: isHead ? { nodeIp: ip, gcsAddress: `${ip}:6379`, dashboardUrl: `http://${ip}:8265` } : { nodeIp: ip },
      });
    }
    await cloud.leases.reconcile(leaseId);
    const active = (await store.leases.nodes(leaseId)).filter((n) => ['assigned', 'starting', 'joined'].includes(n.state));
    const head = active.find((n) => n.role === 'head');
    const headIp = head ? `10.0.0.${devices.indexOf(byId(head.deviceId)) + 1}` : null;
    if (headIp) inspector.clusters.set(`http://${headIp}:8265`, active.filter((n) => n.rayNodeId).map((n) => ({ nodeId: n.rayNodeId!, alive: true })));
  }
  await cloud.leases.reconcile(leaseId);
}

describe('lease lifecycle', () => {
  it('provisions head first, then workers pointed at it, and is ready only when Ray sees every node', async () => {
    const lease = await cloud.leases.book(buyer, { gpu: 'cpu', count: 3, hours: 1, topology: 'spread', pay: 'IO', verifiedOnly: false });
    expect(lease.state).toBe('provisioning');
    await cloud.leases.reconcile(lease.id);
    const nodes = await store.leases.nodes(lease.id);
    const head = nodes.find((n) => n.role === 'head')!;
    expect(assigns(byId(head.deviceId))).toHaveLength(1);
    for (const w of nodes.filter((n) => n.role === 'worker')) expect(assigns(byId(w.deviceId))).toHaveLength(0);

    // Agents claiming "joined" is not enough.
    status(lease.id, byId(head.deviceId).live, 'joined', { rayNodeId: 'h', endpoint: { nodeIp: '10.0.0.9', gcsAddress: '10.0.0.9:6379', dashboardUrl: 'http://10.0.0.9:8265' } });
    await cloud.leases.reconcile(lease.id);
    expect((await store.leases.get(lease.id))?.state).toBe('provisioning');
    for (const w of nodes.filter((n) => n.role === 'worker')) {
      expect(assigns(byId(w.deviceId))[0]).toMatchObject({ role: 'worker', head: { gcsAddress: '10.0.0.9:6379' } });
    }
    await joinAll(lease.id);
    const ready = await store.leases.get(lease.id);
    expect(ready?.state).toBe('ready');
    expect(ready?.readyAtMs).toBe(clock.now());
  });

  it('replaces a lost worker with the spare device, stops its billing at the last heartbeat, and returns to ready', async () => {
    const lease = await cloud.leases.book(buyer, { gpu: 'cpu', count: 3, hours: 1, topology: 'spread', pay: 'IO', verifiedOnly: false });
    await joinAll(lease.id);
    clock.advance(60_000);
    const worker = (await store.leases.nodes(lease.id)).find((n) => n.role === 'worker')!;
    const victim = byId(worker.deviceId);
    victim.live.lastSeenMs = clock.now() - 4_000;
    cloud.registry.remove(victim.live.id, victim.live.sessionId);
    await new Promise((r) => setTimeout(r, 50));
    await cloud.leases.reconcile(lease.id);
    const lost = await store.leases.getNode(worker.id);
    expect(lost).toMatchObject({ state: 'lost', endedAtMs: clock.now() - 4_000 });
    expect((await store.leases.get(lease.id))?.state).toBe('degraded');
    // Losing a joined node of a running cluster is an abandonment, reported once for the slash.
    expect(abandoned).toEqual([{ leaseId: lease.id, nodeId: worker.id, deviceId: victim.live.id, buyer, reason: 'device offline' }]);
    await joinAll(lease.id);
    const after = await store.leases.get(lease.id);
    expect(after?.state).toBe('ready');
    const active = (await store.leases.nodes(lease.id)).filter((n) => n.state === 'joined');
    expect(active).toHaveLength(3);
    expect(active.map((n) => n.deviceId)).not.toContain(victim.live.id);
    expect(after?.notices.some((n) => n.text.startsWith('replacing 1 slot'))).toBe(true);
  });

  it('re-forms the cluster on a new head when the head is lost, and says so', async () => {
    const lease = await cloud.leases.book(buyer, { gpu: 'cpu', count: 3, hours: 1, topology: 'spread', pay: 'IO', verifiedOnly: false });
    await joinAll(lease.id);
    const head = (await store.leases.nodes(lease.id)).find((n) => n.role === 'head')!;
    const h = byId(head.deviceId);
    cloud.registry.remove(h.live.id, h.live.sessionId);
    await new Promise((r) => setTimeout(r, 50));
    await cloud.leases.reconcile(lease.id);
    // The survivors' agents confirm stopping their old nodes after the re-form was decided:
    // that must not end the new nodes the cloud already assigned them.
    for (const d of devices.filter((x) => x !== h && releases(x).length > 0)) status(lease.id, d.live, 'stopped');
    await new Promise((r) => setTimeout(r, 50));
    expect((await store.leases.nodes(lease.id)).filter((x) => x.state === 'assigned')).toHaveLength(3);
    await joinAll(lease.id);
    const after = await store.leases.get(lease.id);
    expect(after?.state).toBe('ready');
    expect(after?.headDeviceId).not.toBe(h.live.id);
    expect(after?.notices.some((n) => n.text.includes('re-formed'))).toBe(true);
    const survivors = devices.filter((x) => x !== h && releases(x).length > 0);
    expect(survivors).toHaveLength(2);
    for (const d of survivors) expect(assigns(d)).toHaveLength(2);
  });

  it('releases: tells every agent, ends when they confirm, and frees the slots', async () => {
    const lease = await cloud.leases.book(buyer, { gpu: 'cpu', count: 2, hours: 1, topology: 'spread', pay: 'IO', verifiedOnly: false });
    await joinAll(lease.id);
    await cloud.leases.release(lease.id, buyer, 'done');
    await cloud.leases.reconcile(lease.id);
    const nodes = (await store.leases.nodes(lease.id)).filter((n) => n.state === 'joined');
    for (const n of nodes) {
      expect(releases(byId(n.deviceId))).toHaveLength(1);
      status(lease.id, byId(n.deviceId).live, 'stopped');
    }
    await new Promise((r) => setTimeout(r, 50));
    await cloud.leases.reconcile(lease.id);
    expect((await store.leases.get(lease.id))?.state).toBe('ended');
    expect(cloud.capacity.freeSlots(nodes[0]!.deviceId)).toBe(1);
    expect(abandoned).toEqual([]); // a release is not an abandonment
  });

  it('releases by itself when the booked time is over', async () => {
    const lease = await cloud.leases.book(buyer, { gpu: 'cpu', count: 1, hours: 0.5, topology: 'spread', pay: 'IO', verifiedOnly: false });
    await joinAll(lease.id);
    clock.advance(31 * 60_000);
    await cloud.leases.reconcile(lease.id);
    expect((await store.leases.get(lease.id))?.state).toBe('releasing');
  });

  it('swaps a device that does not join in time, and fails the lease with a reason when nothing joins', async () => {
    const lease = await cloud.leases.book(buyer, { gpu: 'cpu', count: 1, hours: 1, topology: 'spread', pay: 'IO', verifiedOnly: false });
    await cloud.leases.reconcile(lease.id);
    const [first] = await store.leases.nodes(lease.id);
    clock.advance(61_000);
    await cloud.leases.reconcile(lease.id);
    const nodes = await store.leases.nodes(lease.id);
    expect(nodes.find((x) => x.id === first?.id)).toMatchObject({ state: 'failed', endReason: 'did not join within 60 s' });
    const swapped = nodes.find((x) => x.state === 'assigned');
    expect(swapped?.deviceId).toBeDefined();
    expect(swapped?.deviceId).not.toBe(first?.deviceId);
    expect(releases(byId(first!.deviceId))).toHaveLength(1);
    clock.advance(61_000);
    await cloud.leases.reconcile(lease.id);
    const failed = await store.leases.get(lease.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.failureReason).toMatch(/could not provision 1 slot\(s\) within 120 s/);
    for (const d of devices) expect(cloud.capacity.freeSlots(d.live.id)).toBe(1);
  });

  it('refuses a booking that cannot fit with a coded 409', async () => {
    await expect(cloud.leases.book(buyer, { gpu: 'cpu', count: 9, hours: 1, topology: 'tight', pay: 'IO', verifiedOnly: false })).rejects.toMatchObject({ code: 'NO_CAPACITY' });
  });

  it('keeps other buyers out: their key sees 404, no key sees 401', async () => {
    const lease = await cloud.leases.book(buyer, { gpu: 'cpu', count: 1, hours: 1, topology: 'spread', pay: 'IO', verifiedOnly: false });
    expect((await cloud.app.request(`/v1/clusters/${lease.id}`)).status).toBe(401);
    const other = generateKeypair();
    const challenge = (await (await cloud.app.request(`/v1/auth/challenge?wallet=${other.address}`)).json()) as { nonce: string; message: string };
    const key = (await (await cloud.app.request('/v1/auth/keys', { method: 'POST', body: JSON.stringify({ wallet: other.address, nonce: challenge.nonce, signature: signBytes(other, challenge.message) }) })).json()) as { apiKey: string };
    const res = await cloud.app.request(`/v1/clusters/${lease.id}`, { headers: { authorization: `Bearer ${key.apiKey}` } });
    expect(res.status).toBe(404);
  });

  it('reserves price × slots × hours from escrow, refuses a short balance with a coded error that says how much is missing, and reserves more on extend', async () => {
    const poor = toAddress(generateKeypair().address);
    await fundEscrowForTest(store, poor, 100_000n);
    const request = { gpu: 'cpu', count: 2, hours: 1, topology: 'spread' as const, pay: 'IO' as const, verifiedOnly: false };
    // Two cheapest devices: 0.10 + 0.11 USD/h = 0.21 IO for an hour at 1.00 USD per IO.
    await expect(cloud.leases.book(poor, request)).rejects.toMatchObject({
      code: 'INSUFFICIENT_ESCROW', context: { needed: '0.21', available: '0.1', missing: '0.11', wallet: poor },
    });
    expect(await store.wallets.balance(poor)).toBe(100_000n);
    expect(await store.leases.list({ buyer: poor, limit: 10 })).toEqual([]);
    // Nothing stays reserved by a refused booking: the same slots can be booked by someone else.
    await fundEscrowForTest(store, poor, 150_000n);
    const lease = await cloud.leases.book(poor, request);
    expect(await store.wallets.balance(poor)).toBe(40_000n);
    expect((await store.escrow.get(lease.id))!.reservedIo).toBe(210_000n);
    await expect(cloud.leases.extend(lease.id, poor, 1)).rejects.toMatchObject({ code: 'INSUFFICIENT_ESCROW', context: { missing: '0.17' } });
    expect((await store.leases.get(lease.id))!.expiresAtMs).toBe(lease.expiresAtMs);
    await fundEscrowForTest(store, poor, 170_000n);
    const extended = await cloud.leases.extend(lease.id, poor, 1);
    expect(extended.expiresAtMs).toBe(lease.expiresAtMs + 3_600_000);
    expect((await store.escrow.get(lease.id))!.reservedIo).toBe(420_000n);
    expect(await store.wallets.balance(poor)).toBe(0n);
  });
});
