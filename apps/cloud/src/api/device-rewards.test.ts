import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDepositTransfer, openEmbeddedLedger, type EmbeddedLedger } from '@idlegrid/chain';
import { manualClock, microUsd, parseDecimal, seededRandom, toAddress, type Address, type RegionId } from '@idlegrid/domain';
import { generateKeypair, signBytes, type DeviceRewardsResponse, type EmissionsResponse } from '@idlegrid/protocol';
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
/** Staked (covered) and verified: earns a stipend. */
const earner = liveDevice();
/** Verified but never staked: under_staked, nothing. */
const idle = liveDevice();
let staker: string;

const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
  const res = await cloud.app.request(path);
  return { status: res.status, body: (await res.json()) as T };
};

async function post(path: string, body: unknown, key?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await cloud.app.request(path, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A wallet signs in, gets IO from the embedded network's airdrop and stakes `io` for `device` through the relay. */
async function stake(device: Address, io: bigint): Promise<string> {
  const wallet = generateKeypair();
  const { body: challenge } = await get<{ nonce: string; message: string }>(`/v1/auth/challenge?wallet=${wallet.address}`);
  const issued = await post('/v1/auth/keys', { wallet: wallet.address, nonce: challenge.nonce, signature: signBytes(wallet, challenge.message) });
  const key = String(issued.body['apiKey']);
  expect((await post('/v1/wallet/airdrop', { sol: '1', io: '100' }, key)).status).toBe(200);
  const info = ledger.info();
  const transaction = await buildDepositTransfer(wallet, { mint: info.mints.IO, escrow: info.accounts.IO.stakeVault, amount: io, lifetime: await ledger.recentBlockhash() });
  expect((await post('/v1/stake', { transaction, deviceId: device }, key)).status).toBe(201);
  return wallet.address;
}

beforeAll(async () => {
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  ledger = await openEmbeddedLedger({ dataDir: null, clock, idempotency: storeIdempotency(store) });
  await ledger.bootstrap();
  cloud = createCloudApp({ config: loadCloudConfig({}, { epochSeconds: 60 }), store, clock, random: seededRandom(9), logger: pino({ level: 'silent' }), inspector: new FakeInspector(), ledger });
  for (const d of [earner, idle]) {
    const payout = toAddress(generateKeypair().address);
    await store.devices.upsertOnHello({ id: d.id, hardware: CPU_HARDWARE, gpuModel: 'cpu', gpuCount: 1, region: 'local' as RegionId, pricePerGpuHour: microUsd(1_000_000n), payout, agentVersion: 'test', nowMs: T0 });
    await store.devices.updateStanding(d.id, { verified: true });
    cloud.registry.connect(d);
  }
  staker = await stake(earner.id, 25_000_000n); // a cpu slot needs 20 IO
  await cloud.epochs!.tick();
  for (const k of [1, 2, 3]) {
    clock.set(T0 + k * 60_000);
    await store.devices.markSeenBatch([earner, idle].map((d) => ({ id: d.id, lastSeenMs: clock.now() })));
    await cloud.epochs!.tick();
  }
});

afterAll(async () => {
  await cloud.epochs?.stop();
  await ledger.close();
  await store.close();
});

describe('GET /v1/devices/{id}/rewards', () => {
  it('lists the device\'s closed epochs newest first with stipend + bonus = total, the mint signatures, and its stake coverage', async () => {
    const { status, body } = await get<DeviceRewardsResponse>(`/v1/devices/${earner.id}/rewards`);
    expect(status).toBe(200);
    expect(body.epochSeconds).toBe(60);
    expect(body.stake).toEqual({ staker, staked: '25', cooling: '0', requirement: '20', coveragePpm: 1_000_000, covered: true });
    const closed = (await store.epochs.list({ limit: 10 })).filter((e) => e.state !== 'open').map((e) => e.idx);
    expect(body.rewards.map((r) => r.epochIdx)).toEqual(closed);
    expect(closed.length).toBeGreaterThanOrEqual(2);
    for (const r of body.rewards) {
      expect(parseDecimal(r.totalIo)).toBe(parseDecimal(r.stipendIo) + parseDecimal(r.bonusIo));
      expect(r.endMs - r.startMs).toBe(60_000);
      expect(r.state).toBe('minted');
      expect(r.signatures.length).toBeGreaterThan(0);
    }
    // Staked, verified and online the whole epoch: the only one eligible, so the whole stipend pool is its.
    const { body: emissions } = await get<EmissionsResponse>('/v1/explorer/emissions');
    const latest = body.rewards[0]!;
    const epoch = emissions.epochs.find((e) => e.idx === latest.epochIdx)!;
    expect(latest.ineligible).toEqual([]);
    expect(parseDecimal(latest.stipendIo)).toBeGreaterThan(0n);
    expect(latest.stipendIo).toBe(epoch.stipendPoolIo);
    expect(latest.signatures).toEqual(epoch.signatures);
    const minted = await ledger.getTransaction(latest.signatures[0] ?? '');
    expect(minted?.memo).toBe(epoch.memo);
  });

  it('says why a device earned nothing, and honours limit', async () => {
    const { body } = await get<DeviceRewardsResponse>(`/v1/devices/${idle.id}/rewards?limit=1`);
    expect(body.rewards).toHaveLength(1);
    expect(body.rewards[0]).toMatchObject({ stipendIo: '0', bonusIo: '0', totalIo: '0', ineligible: ['under_staked'] });
    expect(body.stake).toMatchObject({ staker: null, staked: '0', covered: false, coveragePpm: 0 });
  });

  it('answers 404 for an unknown device and a coded 400 for a bad id or limit', async () => {
    const unknown = await get<{ error: { code: string } }>(`/v1/devices/${generateKeypair().address}/rewards`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
    for (const path of ['/v1/devices/not-an-address/rewards', `/v1/devices/${earner.id}/rewards?limit=0`, `/v1/devices/${earner.id}/rewards?limit=101`]) {
      const bad = await get<{ error: { code: string } }>(path);
      expect(bad.status, path).toBe(400);
      expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    }
  });
});
