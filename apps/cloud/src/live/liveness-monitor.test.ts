import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { microUsd, toDeviceId, type RegionId } from '@idlegrid/domain';
import { openStore, type Store } from '@idlegrid/store';
import { liveDevice } from '../testing/live-device.ts';
import { DeviceRegistry, type LiveDevice } from './device-registry.ts';
import { LivenessMonitor } from './liveness-monitor.ts';

const T0 = 1_700_000_000_000;
let store: Store | undefined;

afterEach(async () => {
  await store?.close();
  store = undefined;
});

async function setup(count: number, flushChunk: number) {
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  const registry = new DeviceRegistry();
  const flushed: number[] = [];
  const concurrency = { now: 0, max: 0 };
  const monitor = new LivenessMonitor({
    registry, store, clock: { now: () => T0 }, logger: pino({ level: 'silent' }), nodeLossSeconds: 15, flushSeconds: 5, flushChunk,
    onFlushed: async (devices) => {
      flushed.push(devices.length);
      concurrency.now += 1;
      concurrency.max = Math.max(concurrency.max, concurrency.now);
      await new Promise((resolve) => setTimeout(resolve, 10));
      concurrency.now -= 1;
    },
  });
  const devices: LiveDevice[] = [];
  for (let i = 0; i < count; i++) {
    const d = liveDevice();
    await store.devices.upsertOnHello({
      id: toDeviceId(d.id), hardware: d.hardware, gpuModel: 'cpu', gpuCount: 1, region: 'local' as RegionId,
      pricePerGpuHour: microUsd(250_000n), payout: d.payout, agentVersion: 'test', nowMs: T0,
    });
    registry.connect(d);
    devices.push(d);
  }
  return { registry, monitor, flushed, devices, store, concurrency };
}

describe('LivenessMonitor flush', () => {
  it('writes every changed device in batches of flushChunk and hands each batch to onFlushed', async () => {
    const { registry, monitor, flushed, devices, store } = await setup(5, 2);
    await monitor.flush();
    expect(flushed).toEqual([2, 2, 1]);
    devices.forEach((d, i) => registry.heartbeat(d.id, d.sessionId, T0 + 1000 + i, null));
    flushed.length = 0;
    await monitor.flush();
    expect(flushed).toEqual([2, 2, 1]);
    for (const [i, d] of devices.entries()) expect((await store.devices.get(toDeviceId(d.id)))?.lastSeenMs).toBe(T0 + 1000 + i);
  });

  it('does not overlap flushes: a flush due while one runs writes afterwards, each change once', async () => {
    const { registry, monitor, flushed, devices, store, concurrency } = await setup(4, 1);
    await monitor.flush();
    flushed.length = 0;
    const first = devices[0];
    if (!first) throw new Error('no device');
    registry.heartbeat(first.id, first.sessionId, T0 + 5000, null);
    const running = monitor.flush();
    // A heartbeat while the first flush is writing: the second flush waits, then writes only it.
    registry.heartbeat(first.id, first.sessionId, T0 + 6000, null);
    const second = monitor.flush();
    await Promise.all([running, second]);
    expect(flushed).toEqual([1, 1]);
    expect(concurrency.max).toBe(1);
    expect((await store.devices.get(toDeviceId(first.id)))?.lastSeenMs).toBe(T0 + 6000);
    await monitor.flush();
    expect(flushed).toEqual([1, 1]);
  });
});
