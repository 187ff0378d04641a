import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedLedger, type EmbeddedLedger } from '@idlegrid/chain';
import { manualClock, microUsd, parseDecimal, seededRandom, toAddress, type RegionId } from '@idlegrid/domain';
import { generateKeypair, type EmissionsResponse, type EpochsResponse, type SupplyResponse, type TokenResponse } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig } from '../config.ts';
import { storeIdempotency } from '../settlement/store-idempotency.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import { liveDevice } from '../testing/live-device.ts';
import { CPU_HARDWARE } from '../testing/test-agent.ts';

const T0 = 1_800_000_000_000;
const clock = manualClock(T0);
let store: Store;
let ledger: EmbeddedLedger;
let cloud: CloudApp;
const live = liveDevice();
const device = live.id;
const payout = toAddress(generateKeypair().address);

beforeAll(async () => {
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  ledger = await openEmbeddedLedger({ dataDir: null, clock, idempotency: storeIdempotency(store) });
  await ledger.bootstrap();
  cloud = createCloudApp({ config: loadCloudConfig({}, { epochSeconds: 60 }), store, clock, random: seededRandom(5), logger: pino({ level: 'silent' }), inspector: new FakeInspector(), ledger });
  await store.devices.upsertOnHello({ id: device, hardware: CPU_HARDWARE, gpuModel: 'cpu', gpuCount: 1, region: 'local' as RegionId, pricePerGpuHour: microUsd(1_000_000n), payout, agentVersion: 'test', nowMs: T0 });
  await store.devices.updateStanding(device, { verified: true });
  cloud.registry.connect(live);
  await cloud.epochs!.tick();
  for (const k of [1, 2]) {
    clock.set(T0 + k * 60_000);
    await store.devices.markSeenBatch([{ id: device, lastSeenMs: clock.now() }]);
    await cloud.epochs!.tick();
  }
});

afterAll(async () => {
  await cloud.epochs?.stop();
  await ledger.close();
  await store.close();
});

const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
  const res = await cloud.app.request(path);
  return { status: res.status, body: (await res.json()) as T };
};

describe('epoch explorer', () => {
  it('lists epochs newest first with the open one, and pages by index', async () => {
    const first = await get<EpochsResponse>('/v1/explorer/epochs?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.epochSeconds).toBe(60);
    expect(first.body.epochs.map((e) => [e.idx, e.state])).toEqual([[2, 'open'], [1, 'minted']]);
    expect(first.body.next).toBe('1');
    const second = await get<EpochsResponse>(`/v1/explorer/epochs?limit=2&cursor=${first.body.next}`);
    expect(second.body.epochs.map((e) => e.idx)).toEqual([0]);
    expect(second.body.next).toBeNull();
  });

  it('shows each device\'s stipend and why it was not eligible, with the mint signatures that can be checked on chain', async () => {
    const { body } = await get<EmissionsResponse>('/v1/explorer/emissions');
    expect(body.epochs.map((e) => e.idx)).toEqual([1, 0]);
    const e = body.epochs[0]!;
    expect(e.rewards).toHaveLength(1);
    // Staking is not wired in this app: the device is under-staked, so the whole emission went to treasury.
    expect(e.rewards[0]).toMatchObject({ deviceId: device, stipendIo: '0', bonusIo: '0', ineligible: ['under_staked'] });
    expect(e.treasuryIo).toBe(e.emissionIo);
    const tx = await ledger.getTransaction(e.signatures[0] ?? '');
    expect(tx?.memo).toBe(e.memo);
    expect(tx?.mints.reduce((s, m) => s + m.amount, 0n)).toBe(parseDecimal(e.emissionIo));
  });

  it('reports the IO token: supply = minted − burned = Σ balances, and the minted total equals the emissions', async () => {
    const { status, body } = await get<TokenResponse>('/v1/explorer/token');
    expect(status).toBe(200);
    const emitted = (await store.epochs.list({ limit: 10 })).reduce((s, e) => s + e.emissionIo, 0n);
    expect(body).toMatchObject({ conservation: true, burnedIo: '0', mint: ledger.info().mints.IO });
    expect(parseDecimal(body.mintedIo ?? '')).toBe(emitted);
    expect(body.supplyIo).toBe(body.accountsTotalIo);
  });

  it('pushes each epoch\'s new tiers to the live registry, so supply and --min-tier see them without a reconnect', async () => {
    const stored = await store.devices.get(device);
    expect(stored?.tier).toBe('platinum'); // full uptime, clean history, verified, unstaked: 400 + 300 + 200 + 0
    expect(cloud.registry.get(device)).toMatchObject({ tier: 'platinum', reputation: stored?.reputation });
    const res = await cloud.app.request('/v1/supply?gpu=cpu&minTier=platinum');
    const supply = (await res.json()) as SupplyResponse;
    expect(supply.devices.map((d) => [d.id, d.tier])).toEqual([[device, 'platinum']]);
  });

  it('refuses a bad cursor with a coded 400', async () => {
    const { status, body } = await get<{ error: { code: string } }>('/v1/explorer/epochs?cursor=abc');
    expect(status).toBe(400);
    expect(body.error.code).toBe('VALIDATION_FAILED');
  });
});
