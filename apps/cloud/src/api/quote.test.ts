import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, seededRandom } from '@idlegrid/domain';
import type { FeasibleQuote, InfeasibleQuote } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig } from '../config.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import { liveDevice } from '../testing/live-device.ts';

let store: Store;
let cloud: CloudApp;

beforeAll(async () => {
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  cloud = createCloudApp({ config: loadCloudConfig({}), store, clock: manualClock(0), random: seededRandom(1), logger: pino({ level: 'silent' }), inspector: new FakeInspector() });
  cloud.registry.connect(liveDevice({ region: 'us-east', price: 100_000n, slots: 2 }));
  cloud.registry.connect(liveDevice({ region: 'us-east', price: 200_000n }));
  cloud.registry.connect(liveDevice({ region: 'eu-central', price: 50_000n }));
});

afterAll(async () => {
  await store.close();
});

async function quote(body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await cloud.app.request('/v1/quotes', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: await res.json() };
}

describe('POST /v1/quotes', () => {
  it('places a tight cluster in one region and prices it', async () => {
    const { status, json } = await quote({ gpu: 'cpu', count: 3, hours: 2 });
    expect(status).toBe(200);
    const q = json as FeasibleQuote;
    expect(q.feasible).toBe(true);
    expect(q.slots).toBe(3);
    expect(q.regions).toEqual(['us-east']);
    expect(q.pricePerHour).toBe('0.4');
    expect(q.total).toBe('0.8');
    expect(q.devices.reduce((n, d) => n + d.slots, 0)).toBe(3);
  });

  it('prefers price over latency with topology spread', async () => {
    const q = (await quote({ gpu: 'cpu', count: 2, hours: 1, topology: 'spread' })).json as FeasibleQuote;
    expect(q.pricePerHour).toBe('0.15');
    expect(q.regions).toEqual(['eu-central', 'us-east']);
    expect(q.estimatedRttMs.max).toBeGreaterThan(50);
  });

  it('explains why a request cannot fit and offers feasible alternatives', async () => {
    const { status, json } = await quote({ gpu: 'cpu', count: 3, hours: 1, regions: ['eu-central'], maxPrice: '0.06' });
    expect(status).toBe(200);
    const q = json as InfeasibleQuote;
    expect(q.feasible).toBe(false);
    expect(q.stages.map((s) => s.stage)).toEqual(['model', 'region', 'tier', 'price', 'verified', 'count']);
    expect(q.stages.find((s) => s.stage === 'region')?.remaining).toBe(1);
    expect(q.alternatives.length).toBeGreaterThan(0);
    for (const alt of q.alternatives) {
      const again = (await quote(alt.request)).json as FeasibleQuote;
      expect(again.feasible).toBe(true);
      expect(again.total).toBe(alt.total);
    }
  });

  it.each([
    [{ gpu: 'cpu', count: 0, hours: 1 }, 'VALIDATION_FAILED'],
    [{ gpu: 'cpu', count: 1 }, 'VALIDATION_FAILED'],
    [{ gpu: 'cpu', count: 1, hours: 1, topology: 'ring' }, 'VALIDATION_FAILED'],
    [{ gpu: 'cpu', count: 1, hours: 1, regions: ['atlantis'] }, 'VALIDATION_FAILED'],
    [{ gpu: 'B9000', count: 1, hours: 1 }, 'UNKNOWN_GPU_MODEL'],
  ])('refuses %j with %s', async (body, code) => {
    const { status, json } = await quote(body);
    expect(status).toBe(400);
    expect((json as { error: { code: string } }).error.code).toBe(code);
  });
});
