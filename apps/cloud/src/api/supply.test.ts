import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, seededRandom } from '@idlegrid/domain';
import { SUPPLY_LIST_DEFAULT, SUPPLY_LIST_MAX, type SupplyResponse } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig } from '../config.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import { liveDevice } from '../testing/live-device.ts';

// 150 verified devices in two regions with prices 10,000 … 159,000 µUSD (shuffled), 2 slots each; one unverified.
const PRICES = Array.from({ length: 150 }, (_, i) => 10_000n + BigInt(((i * 37) % 150) * 1000));

let store: Store;
let cloud: CloudApp;

beforeAll(async () => {
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  cloud = createCloudApp({ config: loadCloudConfig({}), store, clock: manualClock(0), random: seededRandom(1), logger: pino({ level: 'silent' }), inspector: new FakeInspector() });
  PRICES.forEach((price, i) => cloud.registry.connect(liveDevice({ region: i % 3 === 0 ? 'eu-central' : 'us-east', price, slots: 2 })));
  cloud.registry.connect(liveDevice({ region: 'us-east', price: 1_000n, slots: 8, verified: false }));
});

afterAll(async () => {
  await store.close();
});

async function supply(query: string): Promise<{ status: number; body: SupplyResponse & { error?: { code: string } } }> {
  const res = await cloud.app.request(`/v1/supply${query}`);
  return { status: res.status, body: (await res.json()) as SupplyResponse & { error?: { code: string } } };
}

describe('GET /v1/supply limit', () => {
  it(`lists the ${SUPPLY_LIST_DEFAULT} cheapest devices by default, with groups and totals over all 150`, async () => {
    const { status, body } = await supply('');
    expect(status).toBe(200);
    expect(body.totals).toEqual({ devices: 150, freeSlots: 300 });
    expect(body.groups.reduce((n, g) => n + g.devices, 0)).toBe(150);
    expect(body.devices).toHaveLength(SUPPLY_LIST_DEFAULT);
    const prices = body.devices.map((d) => Number(d.pricePerGpuHour));
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    expect(prices[0]).toBe(0.01);
    expect(prices.at(-1)).toBe(0.01 + (SUPPLY_LIST_DEFAULT - 1) * 0.001);
  });

  it('lists exactly `limit` devices, and every match when the limit is above it', async () => {
    expect((await supply('?limit=7')).body.devices.map((d) => d.pricePerGpuHour)).toEqual(['0.01', '0.011', '0.012', '0.013', '0.014', '0.015', '0.016']);
    const one = (await supply('?limit=1')).body;
    expect(one.devices.map((d) => d.pricePerGpuHour)).toEqual(['0.01']);
    expect(one.totals.devices).toBe(150);
    expect((await supply(`?limit=${SUPPLY_LIST_MAX}`)).body.devices).toHaveLength(150);
  });

  it('applies the limit after the filters: groups, totals and the list agree on the region', async () => {
    const { body } = await supply('?region=eu-central&limit=10');
    expect(body.totals.devices).toBe(50);
    expect(body.groups).toEqual([expect.objectContaining({ region: 'eu-central', devices: 50, freeSlots: 100 })]);
    expect(body.devices).toHaveLength(10);
    expect(body.devices.every((d) => d.region === 'eu-central')).toBe(true);
  });

  it('refuses a limit that is not a whole number from 1 to the maximum, or empty, with a coded 400', async () => {
    for (const bad of ['', '0', '-1', String(SUPPLY_LIST_MAX + 1), '2.5', 'all']) {
      const { status, body } = await supply(`?limit=${bad}`);
      expect([bad, status, body.error?.code]).toEqual([bad, 400, 'VALIDATION_FAILED']);
    }
  });
});
