import { expect, it } from 'vitest';
import fc from 'fast-check';
import { microUsd, type Address, type DeviceId, type RegionId } from '@idlegrid/domain';
import { describeEachStore } from '../testing/store-harness.ts';
import { addresses, deviceIds, hello } from '../test-fixtures.ts';
import type { DeviceSeen } from './devices.ts';

const T0 = 1_700_000_000_000;

describeEachStore('devices', ({ open }) => {
  it('inserts on first hello with defaults', async () => {
    const store = await open();
    const [id] = deviceIds(1) as [DeviceId];
    const record = await store.devices.upsertOnHello(hello(id));
    expect(record).toEqual({
      ...hello(id),
      nowMs: undefined,
      status: 'online',
      firstSeenMs: T0,
      lastSeenMs: T0,
      connectedAtMs: T0,
      disconnectedAtMs: null,
      onlineMsTotal: 0,
      coordinate: null,
      load: null,
      verified: false,
      tier: 'bronze',
      reputation: 0,
    });
    expect(await store.devices.get(id)).toEqual(record);
    expect(await store.devices.get(deviceIds(1, 2)[0] as DeviceId)).toBeNull();
  });

  it('reads many devices at once, leaving unknown ids out', async () => {
    const store = await open();
    const ids = deviceIds(3);
    for (const id of ids.slice(0, 2)) await store.devices.upsertOnHello(hello(id));
    const found = await store.devices.getMany(ids);
    expect(found.map((d) => d.id).sort()).toEqual(ids.slice(0, 2).sort());
    expect(found[0]).toEqual(await store.devices.get(found[0]?.id as DeviceId));
    expect(await store.devices.getMany([])).toEqual([]);
  });

  it('updates on a later hello, keeping firstSeen and crediting an unclosed connection', async () => {
    const store = await open();
    const [id] = deviceIds(1) as [DeviceId];
    await store.devices.upsertOnHello(hello(id));
    await store.devices.markSeenBatch([{ id, lastSeenMs: T0 + 30_000 }]);
    const again = await store.devices.upsertOnHello(
      hello(id, { nowMs: T0 + 60_000, region: 'eu-west' as RegionId, agentVersion: '0.2.0', pricePerGpuHour: microUsd(3n) }),
    );
    expect(again).toMatchObject({
      firstSeenMs: T0, lastSeenMs: T0 + 60_000, connectedAtMs: T0 + 60_000, status: 'online',
      region: 'eu-west', agentVersion: '0.2.0', pricePerGpuHour: 3n, onlineMsTotal: 30_000,
    });
  });

  it('keeps verification for the same claim and clears it when the GPU claim changes', async () => {
    const store = await open();
    const [id] = deviceIds(1) as [DeviceId];
    await store.devices.upsertOnHello(hello(id));
    expect(await store.devices.updateStanding(id, { verified: true, tier: 'gold', reputation: 850 })).toBe(true);
    expect(await store.devices.upsertOnHello(hello(id, { nowMs: T0 + 1 }))).toMatchObject({ verified: true, tier: 'gold', reputation: 850 });
    expect(await store.devices.upsertOnHello(hello(id, { nowMs: T0 + 2, gpuCount: 4 }))).toMatchObject({ verified: false, tier: 'gold' });
    await store.devices.updateStanding(id, { verified: true });
    expect(await store.devices.upsertOnHello(hello(id, { nowMs: T0 + 3, gpuCount: 4, gpuModel: 'A100' }))).toMatchObject({ verified: false });
    expect(await store.devices.updateStanding(deviceIds(1, 5)[0] as DeviceId, { reputation: 1 })).toBe(false);
    expect(await store.devices.updateStanding(id, {})).toBe(true);
  });

  it('round-trips large prices exactly', async () => {
    const store = await open();
    const ids = deviceIds(3);
    const prices = [2n ** 62n, 2n ** 63n - 1n, 2n ** 53n + 1n];
    for (const [i, id] of ids.entries()) {
      await store.devices.upsertOnHello(hello(id, { pricePerGpuHour: microUsd(prices[i] ?? 0n) }));
    }
    for (const [i, id] of ids.entries()) expect((await store.devices.get(id))?.pricePerGpuHour).toBe(prices[i]);
  });

  it('round-trips any int64 price and any JSON hardware (property)', async () => {
    const store = await open();
    const [id] = deviceIds(1) as [DeviceId];
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), fc.jsonValue(), async (price, hardware) => {
        const record = await store.devices.upsertOnHello(hello(id, { pricePerGpuHour: microUsd(price), hardware: hardware as never }));
        expect(record.pricePerGpuHour).toBe(price);
        expect((await store.devices.get(id))?.hardware).toEqual(JSON.parse(JSON.stringify(hardware)));
      }),
      { numRuns: 50 },
    );
  });

  it('updates 1,000 heartbeats in one batch', async () => {
    const store = await open();
    const ids = deviceIds(1000);
    await store.transaction(async (tx) => {
      for (const id of ids) await tx.devices.upsertOnHello(hello(id));
    });
    const rows: DeviceSeen[] = ids.map((id, i) => ({
      id,
      lastSeenMs: T0 + 5_000 + i,
      coordinate: { x: i / 3, y: -(i + 1), h: 0.25 },
      load: { gpuUtil: [i % 100] },
    }));
    expect(await store.devices.markSeenBatch(rows)).toBe(1000);
    for (const i of [0, 499, 500, 999]) {
      expect(await store.devices.get(ids[i] as DeviceId)).toMatchObject({
        lastSeenMs: T0 + 5_000 + i, coordinate: { x: i / 3, y: -(i + 1), h: 0.25 }, load: { gpuUtil: [i % 100] },
      });
    }
  });

  it('keeps coordinate and load when a heartbeat omits them, never moves lastSeen back, ignores unknown ids', async () => {
    const store = await open();
    const [a, b, unknown] = deviceIds(3) as [DeviceId, DeviceId, DeviceId];
    await store.devices.upsertOnHello(hello(a));
    await store.devices.upsertOnHello(hello(b));
    await store.devices.markSeenBatch([{ id: a, lastSeenMs: T0 + 10, coordinate: { x: 1, y: 2, h: 3 }, load: { n: 1 } }]);
    const updated = await store.devices.markSeenBatch([
      { id: a, lastSeenMs: T0 + 20 },
      { id: b, lastSeenMs: T0 - 5 },
      { id: unknown, lastSeenMs: T0 + 20 },
    ]);
    expect(updated).toBe(2);
    expect(await store.devices.get(a)).toMatchObject({ lastSeenMs: T0 + 20, coordinate: { x: 1, y: 2, h: 3 }, load: { n: 1 } });
    expect((await store.devices.get(b))?.lastSeenMs).toBe(T0);
    expect(await store.devices.get(unknown)).toBeNull();
    expect(await store.devices.markSeenBatch([])).toBe(0);
  });

  it('takes the latest of duplicate rows in one batch', async () => {
    const store = await open();
    const [a] = deviceIds(1) as [DeviceId];
    await store.devices.upsertOnHello(hello(a));
    await store.devices.markSeenBatch([
      { id: a, lastSeenMs: T0 + 30, coordinate: { x: 3, y: 3, h: 3 } },
      { id: a, lastSeenMs: T0 + 10, coordinate: { x: 1, y: 1, h: 1 } },
      { id: a, lastSeenMs: T0 + 40, load: { latest: true } },
    ]);
    expect(await store.devices.get(a)).toMatchObject({ lastSeenMs: T0 + 40, coordinate: { x: 3, y: 3, h: 3 }, load: { latest: true } });
  });

  it('marks one device offline, crediting its connection time once', async () => {
    const store = await open();
    const [id] = deviceIds(1) as [DeviceId];
    await store.devices.upsertOnHello(hello(id));
    expect(await store.devices.markOffline(id, T0 + 90_000)).toBe(true);
    expect(await store.devices.markOffline(id, T0 + 95_000)).toBe(false);
    expect(await store.devices.get(id)).toMatchObject({ status: 'offline', disconnectedAtMs: T0 + 90_000, onlineMsTotal: 90_000 });
    await store.devices.upsertOnHello(hello(id, { nowMs: T0 + 100_000 }));
    await store.devices.markOffline(id, T0 + 110_000);
    expect((await store.devices.get(id))?.onlineMsTotal).toBe(100_000);
  });

  it('marks all online devices offline on start, crediting up to their last heartbeat', async () => {
    const store = await open();
    const [a, b, c] = deviceIds(3) as [DeviceId, DeviceId, DeviceId];
    for (const id of [a, b, c]) await store.devices.upsertOnHello(hello(id));
    await store.devices.markOffline(c, T0 + 1_000);
    await store.devices.markSeenBatch([{ id: a, lastSeenMs: T0 + 7_000 }]);
    expect(await store.devices.markAllOffline(T0 + 60_000)).toBe(2);
    expect(await store.devices.get(a)).toMatchObject({ status: 'offline', onlineMsTotal: 7_000, disconnectedAtMs: T0 + 60_000 });
    expect(await store.devices.get(b)).toMatchObject({ status: 'offline', onlineMsTotal: 0 });
    expect(await store.devices.get(c)).toMatchObject({ onlineMsTotal: 1_000, disconnectedAtMs: T0 + 1_000 });
    expect(await store.devices.count({ status: 'online' })).toBe(0);
  });

  it('lists with filters and keyset pagination by id', async () => {
    const store = await open();
    const ids = deviceIds(25, 7);
    const [payoutA, payoutB] = addresses(2, 42) as [Address, Address];
    for (const [i, id] of ids.entries()) {
      await store.devices.upsertOnHello(
        hello(id, { gpuModel: i % 2 === 0 ? 'H100' : 'RTX4090', region: (i % 3 === 0 ? 'eu-west' : 'us-east') as RegionId, payout: i < 5 ? payoutA : payoutB }),
      );
    }
    for (const id of ids.slice(0, 4)) await store.devices.markOffline(id, T0 + 1);

    const pages: DeviceId[][] = [];
    let afterId: DeviceId | undefined;
    for (;;) {
      const page = await store.devices.list({ limit: 7, afterId });
      if (page.length === 0) break;
      pages.push(page.map((d) => d.id));
      afterId = page.at(-1)?.id;
    }
    const sorted = [...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    expect(pages.map((p) => p.length)).toEqual([7, 7, 7, 4]);
    expect(pages.flat()).toEqual(sorted);

    const h100Online = await store.devices.list({ status: 'online', gpuModel: 'H100', limit: 100 });
    const expected = ids.filter((_, i) => i % 2 === 0 && i >= 4);
    expect(h100Online.map((d) => d.id)).toEqual([...expected].sort((x, y) => (x < y ? -1 : 1)));
    expect(await store.devices.count({ status: 'online', gpuModel: 'H100' })).toBe(expected.length);
    expect(await store.devices.count({ region: 'eu-west' as RegionId })).toBe(9);
    expect(await store.devices.count({ payout: payoutA })).toBe(5);
    expect(await store.devices.count({ status: 'offline' })).toBe(4);
    expect(await store.devices.count({})).toBe(25);
    expect((await store.devices.list({ payout: payoutA, region: 'eu-west' as RegionId, limit: 10 })).length).toBe(2);
  });
});
