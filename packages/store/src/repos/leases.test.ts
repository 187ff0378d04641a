import { expect, it } from 'vitest';
import { isIdlegridError, microUsd, newLeaseId, seededRandom, type Address, type DeviceId, type LeaseId } from '@idlegrid/domain';
import { isStoreConflict } from '../errors.ts';
import { describeEachStore } from '../testing/store-harness.ts';
import { addresses, deviceIds } from '../test-fixtures.ts';
import {
  ACTIVE_LEASE_STATES, ACTIVE_NODE_STATES, type LeaseState, type NewLease, type NewLeaseNode,
} from './leases.ts';

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

function leaseIds(count: number, seed = 7): LeaseId[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => newLeaseId(random));
}

const [BUYER, OTHER_BUYER] = addresses(2, 42) as [Address, Address];

function newLease(id: LeaseId, overrides: Partial<NewLease> = {}): NewLease {
  return {
    id,
    buyer: BUYER,
    name: 'train-run',
    state: 'requested',
    gpuModel: 'H100',
    slots: 16,
    topology: 'tight',
    request: { regions: ['us-east', 'eu-west'], minTier: 'silver', maxPrice: '3.5', hours: 4, pay: { token: 'USDC' } },
    pricePerHour: microUsd(40_000_000n),
    rayToken: 'ray-secret-token',
    headDeviceId: null,
    createdAtMs: T0,
    readyAtMs: null,
    expiresAtMs: T0 + 4 * HOUR,
    endedAtMs: null,
    failureReason: null,
    notices: [],
    ...overrides,
  };
}

function newNode(leaseId: LeaseId, deviceId: DeviceId, overrides: Partial<NewLeaseNode> = {}): NewLeaseNode {
  return {
    leaseId,
    deviceId,
    role: 'worker',
    slots: 8,
    pricePerGpuHour: microUsd(2_500_000n),
    state: 'assigned',
    rayNodeId: null,
    endpoint: null,
    assignedAtMs: T0,
    joinedAtMs: null,
    lastSeenMs: null,
    endedAtMs: null,
    endReason: null,
    ...overrides,
  };
}

describeEachStore('leases', ({ open }) => {
  it('exports the active state lists', () => {
    expect(ACTIVE_LEASE_STATES).toEqual(['requested', 'allocating', 'provisioning', 'ready', 'degraded', 'releasing']);
    expect(ACTIVE_NODE_STATES).toEqual(['assigned', 'starting', 'joined']);
  });

  it('creates and gets a lease with exact int64 price and JSON request and notices', async () => {
    const store = await open();
    const [id, missing] = leaseIds(2) as [LeaseId, LeaseId];
    const [head] = deviceIds(1) as [DeviceId];
    const input = newLease(id, {
      pricePerHour: microUsd(2n ** 62n),
      headDeviceId: head,
      notices: [{ atMs: T0 + 1, text: 'head re-formed on device X — Grüße ✓' }, { atMs: T0 + 2, text: 'second' }],
      request: { nested: { list: [1, 'two', null, true], f: 1.5 }, regions: [] },
    });
    const created = await store.leases.create(input);
    expect(created).toEqual({ ...input, version: 1 });
    expect(created.pricePerHour).toBe(2n ** 62n);
    expect(await store.leases.get(id)).toEqual(created);
    expect(await store.leases.get(missing)).toBeNull();

    const error: unknown = await store.leases.create(newLease(id)).catch((e: unknown) => e);
    expect(isStoreConflict(error)).toBe(true);
    expect(error).toMatchObject({ context: { operation: 'leases.create' } });
  });

  it('updates with compare-and-set, bumping the version each time', async () => {
    const store = await open();
    const [id, missing] = leaseIds(2) as [LeaseId, LeaseId];
    const [head, other] = deviceIds(2) as [DeviceId, DeviceId];
    await store.leases.create(newLease(id));

    const v2 = await store.leases.update(id, 1, { state: 'allocating', headDeviceId: head, pricePerHour: microUsd(2n ** 63n - 1n) });
    expect(v2).toMatchObject({ state: 'allocating', headDeviceId: head, pricePerHour: 2n ** 63n - 1n, version: 2, name: 'train-run' });
    // Stale version: nothing changes.
    expect(await store.leases.update(id, 1, { state: 'failed', headDeviceId: other })).toBeNull();
    expect(await store.leases.get(id)).toEqual(v2);
    expect(await store.leases.update(missing, 1, { state: 'failed' })).toBeNull();

    const notices = [{ atMs: T0 + 5, text: `head re-formed on device ${other}` }];
    const v3 = await store.leases.update(id, 2, {
      state: 'ready', readyAtMs: T0 + 10, expiresAtMs: T0 + 5 * HOUR, notices, name: null, failureReason: undefined,
    });
    expect(v3).toMatchObject({ state: 'ready', readyAtMs: T0 + 10, expiresAtMs: T0 + 5 * HOUR, notices, name: null, version: 3 });
    // An empty patch still claims the version.
    expect((await store.leases.update(id, 3, {}))?.version).toBe(4);
    const ended = await store.leases.update(id, 4, { state: 'failed', endedAtMs: T0 + 20, failureReason: 'no capacity', headDeviceId: null });
    expect(ended).toMatchObject({ state: 'failed', endedAtMs: T0 + 20, failureReason: 'no capacity', headDeviceId: null, version: 5 });
    expect(await store.leases.get(id)).toEqual(ended);
  });

  it('lets exactly one of two racing updates with the same version win', async () => {
    const store = await open();
    const [id] = leaseIds(1) as [LeaseId];
    await store.leases.create(newLease(id));
    const results = await Promise.all([
      store.leases.update(id, 1, { state: 'allocating' }),
      store.leases.update(id, 1, { state: 'failed' }),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect((await store.leases.get(id))?.version).toBe(2);
  });

  it('rejects states the schema does not allow', async () => {
    const store = await open();
    const [id, other] = leaseIds(2) as [LeaseId, LeaseId];
    await store.leases.create(newLease(id));
    const bad: unknown = await store.leases.update(id, 1, { state: 'bogus' as LeaseState }).catch((e: unknown) => e);
    expect(isIdlegridError(bad, 'STORE_ERROR')).toBe(true);
    expect(isStoreConflict(bad)).toBe(false);
    await expect(store.leases.create(newLease(other, { topology: 'ring' as 'tight' }))).rejects.toMatchObject({ code: 'STORE_ERROR' });
    await expect(store.leases.create(newLease(other, { slots: 0 }))).rejects.toMatchObject({ code: 'STORE_ERROR' });
    expect((await store.leases.get(id))?.version).toBe(1);
  });

  it('lists by buyer and state with keyset pagination, and lists the active ones', async () => {
    const store = await open();
    const ids = leaseIds(30);
    const states: LeaseState[] = ['requested', 'ready', 'ended', 'degraded', 'failed', 'releasing'];
    for (const [i, id] of ids.entries()) {
      await store.leases.create(newLease(id, { buyer: i % 2 === 0 ? BUYER : OTHER_BUYER, state: states[i % states.length] }));
    }
    const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const byId = new Map(ids.map((id, i) => [id, i]));
    const indexOf = (id: LeaseId): number => byId.get(id) ?? -1;

    const pageAll = async (options: { buyer?: Address; states?: readonly LeaseState[] }): Promise<LeaseId[]> => {
      const seen: LeaseId[] = [];
      let afterId: LeaseId | undefined;
      for (;;) {
        const page = await store.leases.list({ ...options, limit: 4, afterId });
        if (page.length === 0) break;
        seen.push(...page.map((l) => l.id));
        afterId = page.at(-1)?.id;
      }
      return seen;
    };

    expect(await pageAll({})).toEqual(sorted);
    expect(await pageAll({ buyer: BUYER })).toEqual(sorted.filter((id) => indexOf(id) % 2 === 0));
    const readyish: LeaseState[] = ['ready', 'degraded'];
    expect(await pageAll({ buyer: OTHER_BUYER, states: readyish })).toEqual(
      sorted.filter((id) => indexOf(id) % 2 === 1 && readyish.includes(states[indexOf(id) % states.length] as LeaseState)),
    );
    expect(await store.leases.list({ states: [], limit: 100 })).toEqual([]);
    expect(await store.leases.list({ limit: 0 })).toEqual([]);

    const active = await store.leases.listActive();
    expect(active.map((l) => l.id)).toEqual(
      sorted.filter((id) => ACTIVE_LEASE_STATES.includes(states[indexOf(id) % states.length] as LeaseState)),
    );
    expect(active.every((l) => l.state !== 'ended' && l.state !== 'failed')).toBe(true);
  });

  it('adds, updates and lists nodes', async () => {
    const store = await open();
    const [lease, other] = leaseIds(2) as [LeaseId, LeaseId];
    const [a, b, c] = deviceIds(3) as [DeviceId, DeviceId, DeviceId];
    await store.leases.create(newLease(lease));
    await store.leases.create(newLease(other));

    const endpoint = { host: '10.0.0.5', ports: { gcs: 6379, dashboard: 8265 }, tls: true };
    const head = await store.leases.addNode(newNode(lease, a, { role: 'head', endpoint, pricePerGpuHour: microUsd(2n ** 62n) }));
    expect(head).toEqual({ ...newNode(lease, a, { role: 'head', endpoint, pricePerGpuHour: microUsd(2n ** 62n) }), id: head.id, billedUntilMs: null });
    const worker = await store.leases.addNode(newNode(lease, b, { slots: 4 }));
    await store.leases.addNode(newNode(other, c));
    expect(worker.id).toBeGreaterThan(head.id);

    const joined = await store.leases.updateNode(worker.id, {
      state: 'joined', rayNodeId: 'ray-node-1', joinedAtMs: T0 + 5, lastSeenMs: T0 + 5, endpoint: { host: '10.0.0.6' },
    });
    expect(joined).toEqual({
      ...worker, state: 'joined', rayNodeId: 'ray-node-1', joinedAtMs: T0 + 5, lastSeenMs: T0 + 5, endpoint: { host: '10.0.0.6' },
    });
    const promoted = await store.leases.updateNode(worker.id, { role: 'head', endpoint: null, endReason: undefined });
    expect(promoted).toMatchObject({ role: 'head', endpoint: null, rayNodeId: 'ray-node-1' });
    expect(await store.leases.updateNode(worker.id, {})).toEqual(promoted);
    expect(await store.leases.getNode(worker.id)).toEqual(promoted);
    expect(await store.leases.updateNode(999_999, { state: 'lost' })).toBeNull();
    expect(await store.leases.updateNode(999_999, {})).toBeNull();
    expect(await store.leases.getNode(999_999)).toBeNull();

    const released = await store.leases.updateNode(head.id, { state: 'released', endedAtMs: T0 + 9, endReason: 'head lost' });
    expect(released).toMatchObject({ state: 'released', endedAtMs: T0 + 9, endReason: 'head lost' });
    expect(await store.leases.nodes(lease)).toEqual([released, promoted]);
    expect((await store.leases.nodes(other)).map((n) => n.deviceId)).toEqual([c]);
    // Node changes leave the lease's version alone.
    expect((await store.leases.get(lease))?.version).toBe(1);
  });

  it('refuses a node for a lease that does not exist', async () => {
    const store = await open();
    const [missing] = leaseIds(1) as [LeaseId];
    const [a] = deviceIds(1) as [DeviceId];
    const error: unknown = await store.leases.addNode(newNode(missing, a)).catch((e: unknown) => e);
    expect(isIdlegridError(error, 'STORE_ERROR')).toBe(true);
    expect(isStoreConflict(error)).toBe(false);
    expect(error).toMatchObject({ context: { operation: 'leases.addNode' } });
  });

  it('finds the active nodes on a device and the slots each device holds', async () => {
    const store = await open();
    const [l1, l2, l3] = leaseIds(3) as [LeaseId, LeaseId, LeaseId];
    const [a, b] = deviceIds(2) as [DeviceId, DeviceId];
    for (const id of [l1, l2, l3]) await store.leases.create(newLease(id));
    const n1 = await store.leases.addNode(newNode(l1, a, { slots: 2, state: 'joined' }));
    const n2 = await store.leases.addNode(newNode(l2, a, { slots: 3, state: 'starting' }));
    const n3 = await store.leases.addNode(newNode(l3, a, { slots: 1 }));
    await store.leases.addNode(newNode(l3, b, { slots: 8 }));
    await store.leases.updateNode(n3.id, { state: 'lost', endedAtMs: T0 + 1 });

    expect((await store.leases.activeNodesOnDevice(a)).map((n) => n.id)).toEqual([n1.id, n2.id]);
    expect(await store.leases.activeSlotsByDevice()).toEqual(new Map([[a, 5], [b, 8]]));
    expect((await store.leases.activeNodes()).map((n) => [n.leaseId, n.deviceId])).toEqual([[l1, a], [l2, a], [l3, b]]);
    await store.leases.updateNode(n1.id, { state: 'released' });
    await store.leases.updateNode(n2.id, { state: 'failed' });
    expect(await store.leases.activeNodesOnDevice(a)).toEqual([]);
    expect(await store.leases.activeSlotsByDevice()).toEqual(new Map([[b, 8]]));
    expect((await store.leases.activeNodes()).map((n) => n.deviceId)).toEqual([b]);
  });

  it('touches nodes only forward, only active ones, latest of duplicates, ignoring unknown ids', async () => {
    const store = await open();
    const [lease] = leaseIds(1) as [LeaseId];
    const [a, b, c, d] = deviceIds(4) as [DeviceId, DeviceId, DeviceId, DeviceId];
    await store.leases.create(newLease(lease));
    const fresh = await store.leases.addNode(newNode(lease, a));
    const seen = await store.leases.addNode(newNode(lease, b, { state: 'joined', lastSeenMs: T0 + 100 }));
    const lost = await store.leases.addNode(newNode(lease, c, { state: 'lost', lastSeenMs: T0 + 50 }));
    const dup = await store.leases.addNode(newNode(lease, d, { state: 'starting', lastSeenMs: T0 }));

    const touched = await store.leases.touchNodes([
      { id: fresh.id, lastSeenMs: T0 + 10 },
      { id: seen.id, lastSeenMs: T0 + 90 },
      { id: lost.id, lastSeenMs: T0 + 200 },
      { id: dup.id, lastSeenMs: T0 + 30 },
      { id: dup.id, lastSeenMs: T0 + 70 },
      { id: dup.id, lastSeenMs: T0 + 20 },
      { id: 999_999, lastSeenMs: T0 + 10 },
    ]);
    expect(touched).toBe(3);
    const byId = new Map((await store.leases.nodes(lease)).map((n) => [n.id, n.lastSeenMs]));
    expect(byId).toEqual(new Map([[fresh.id, T0 + 10], [seen.id, T0 + 100], [lost.id, T0 + 50], [dup.id, T0 + 70]]));
    expect(await store.leases.touchNodes([{ id: seen.id, lastSeenMs: T0 + 150 }])).toBe(1);
    expect((await store.leases.getNode(seen.id))?.lastSeenMs).toBe(T0 + 150);
    expect(await store.leases.touchNodes([])).toBe(0);
  });

  it('touches 1,000 nodes in one batch', async () => {
    const store = await open();
    const leases = leaseIds(10);
    const devices = deviceIds(100);
    const nodeIds: number[] = [];
    await store.transaction(async (tx) => {
      for (const lease of leases) {
        await tx.leases.create(newLease(lease));
        for (const device of devices) nodeIds.push((await tx.leases.addNode(newNode(lease, device, { slots: 1 }))).id);
      }
    });
    expect(await store.leases.touchNodes(nodeIds.map((id, i) => ({ id, lastSeenMs: T0 + i })))).toBe(1000);
    for (const i of [0, 499, 999]) expect((await store.leases.getNode(nodeIds[i] ?? -1))?.lastSeenMs).toBe(T0 + i);
  });

  it('allows one active node per device and lease', async () => {
    const store = await open();
    const [lease, other] = leaseIds(2) as [LeaseId, LeaseId];
    const [a] = deviceIds(1) as [DeviceId];
    await store.leases.create(newLease(lease));
    await store.leases.create(newLease(other));
    const first = await store.leases.addNode(newNode(lease, a, { state: 'joined' }));

    const error: unknown = await store.leases.addNode(newNode(lease, a, { state: 'starting' })).catch((e: unknown) => e);
    expect(isStoreConflict(error)).toBe(true);
    // An ended node does not count, and another lease may use the same device.
    const ended = await store.leases.addNode(newNode(lease, a, { state: 'failed', endedAtMs: T0 }));
    await store.leases.addNode(newNode(other, a));
    // Re-activating an ended node while another is active conflicts as well.
    expect(isStoreConflict(await store.leases.updateNode(ended.id, { state: 'assigned' }).catch((e: unknown) => e))).toBe(true);

    await store.leases.updateNode(first.id, { state: 'lost', endedAtMs: T0 + 1 });
    const replacement = await store.leases.addNode(newNode(lease, a));
    expect((await store.leases.activeNodesOnDevice(a)).map((n) => n.leaseId).sort()).toEqual([lease, other].sort());
    expect(replacement.id).toBeGreaterThan(first.id);
  });

  it('rolls back a lease and its nodes together', async () => {
    const store = await open();
    const [lease] = leaseIds(1) as [LeaseId];
    const [a, b] = deviceIds(2) as [DeviceId, DeviceId];
    const boom = new Error('boom');
    await expect(
      store.transaction(async (tx) => {
        await tx.leases.create(newLease(lease));
        await tx.leases.addNode(newNode(lease, a, { role: 'head' }));
        await tx.leases.addNode(newNode(lease, b));
        expect(await tx.leases.nodes(lease)).toHaveLength(2);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await store.leases.get(lease)).toBeNull();
    expect(await store.leases.nodes(lease)).toEqual([]);
    expect(await store.leases.activeNodesOnDevice(a)).toEqual([]);

    // A conflict inside the transaction rolls back everything before it too.
    const error: unknown = await store
      .transaction(async (tx) => {
        await tx.leases.create(newLease(lease));
        await tx.leases.addNode(newNode(lease, a));
        await tx.leases.addNode(newNode(lease, a));
      })
      .catch((e: unknown) => e);
    expect(isStoreConflict(error)).toBe(true);
    expect(await store.leases.get(lease)).toBeNull();

    await store.transaction(async (tx) => {
      await tx.leases.create(newLease(lease));
      await tx.leases.addNode(newNode(lease, a, { role: 'head' }));
      await tx.leases.update(lease, 1, { state: 'allocating', headDeviceId: a });
    });
    expect(await store.leases.get(lease)).toMatchObject({ state: 'allocating', headDeviceId: a, version: 2 });
    expect(await store.leases.nodes(lease)).toHaveLength(1);
  });
});
