import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base58Decode, base58Encode, manualClock, newLeaseId, seededRandom } from '@idlegrid/domain';
import { openEmbeddedLedger, type EmbeddedLedger } from '@idlegrid/chain';
import { generateKeypair, signBytes, type Keypair } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig } from '../config.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';

const clock = manualClock(1_750_000_000_000);
let dir: string;
let store: Store;
let ledger: EmbeddedLedger;
let cloud: CloudApp;
let bare: CloudApp;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'idlegrid-dashboard-api-'));
  mkdirSync(join(dir, 'dist', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'index.html'), '<!doctype html><title>dash</title><div id="root"></div>');
  writeFileSync(join(dir, 'dist', 'assets', 'app-1.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'outside');
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  ledger = await openEmbeddedLedger({ dataDir: join(dir, 'chain'), clock });
  await ledger.bootstrap();
  const base = { config: loadCloudConfig({}, { dataDir: dir }), store, clock, logger: pino({ level: 'silent' }), inspector: new FakeInspector() };
  cloud = createCloudApp({ ...base, random: seededRandom(5), ledger, dashboardDir: join(dir, 'dist') });
  bare = createCloudApp({ ...base, random: seededRandom(6), dashboardDir: join(dir, 'missing') });
});

afterAll(async () => {
  await store.close();
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, o: { body?: unknown; key?: string } = {}) {
  const res = await cloud.app.request(path, {
    method,
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    headers: { 'content-type': 'application/json', ...(o.key ? { authorization: `Bearer ${o.key}` } : {}) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function login(): Promise<{ key: string; wallet: Keypair }> {
  const wallet = generateKeypair();
  const challenge = await call('GET', `/v1/auth/challenge?wallet=${wallet.address}`);
  const issued = await call('POST', '/v1/auth/keys', { body: { wallet: wallet.address, nonce: challenge.body['nonce'], signature: signBytes(wallet, String(challenge.body['message'])) } });
  return { key: String(issued.body['apiKey']), wallet };
}

describe('the dashboard at /', () => {
  it('serves index.html at / and for client-side routes, assets as files, and keeps API paths JSON', async () => {
    const home = await cloud.app.request('/');
    expect(home.headers.get('content-type')).toContain('text/html');
    expect(await home.text()).toContain('<div id="root">');
    expect(await (await cloud.app.request('/clusters/lse_abc')).text()).toContain('<div id="root">');
    const asset = await cloud.app.request('/assets/app-1.js');
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect(await asset.text()).toBe('console.log(1)');
    const unknownApi = await cloud.app.request('/v1/nothing-here');
    expect(unknownApi.status).toBe(404);
    expect(((await unknownApi.json()) as { error: { code: string } }).error.code).toBe('ROUTE_NOT_FOUND');
    expect((await cloud.app.request('/healthz')).status).toBe(200);
  });

  it('lets an API route registered after it answer', async () => {
    const late = createCloudApp({ config: loadCloudConfig({}, { dataDir: dir }), store, clock, logger: pino({ level: 'silent' }), inspector: new FakeInspector(), random: seededRandom(7), dashboardDir: join(dir, 'dist') });
    late.app.get('/v1/registered-later', (c) => c.json({ late: true }));
    const res = await late.app.request('/v1/registered-later');
    expect(await res.json()).toEqual({ late: true });
  });

  it('never serves a file outside the build folder', async () => {
    const res = await cloud.app.request('/..%2Fsecret.txt');
    expect(await res.text()).not.toContain('outside');
  });

  it('answers a page that says how to build it when the build is missing', async () => {
    const res = await bare.app.request('/');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('npm run build -w @idlegrid/dashboard');
  });
});

describe('POST /v1/wallet/deposits/unsigned', () => {
  it('builds a transfer that the wallet signs outside the server and relays as a deposit', async () => {
    const buyer = await login();
    expect((await call('POST', '/v1/wallet/airdrop', { key: buyer.key, body: { sol: '1', io: '50', usdc: '0' } })).status).toBe(200);
    const unsigned = await call('POST', '/v1/wallet/deposits/unsigned', { key: buyer.key, body: { token: 'IO', amount: '12.5' } });
    expect(unsigned.status).toBe(200);
    const wire = Buffer.from(String(unsigned.body['transaction']), 'base64');
    const sigAt = Number(unsigned.body['signatureOffset']);
    const msgAt = Number(unsigned.body['messageOffset']);
    expect(wire.subarray(sigAt, sigAt + 64).every((b) => b === 0)).toBe(true);
    // What the browser does with WebCrypto: sign the message bytes, fill the slot.
    const signature = signBytes(buyer.wallet, new Uint8Array(wire.subarray(msgAt)));
    const unsignedRelay = await call('POST', '/v1/wallet/deposits', { key: buyer.key, body: { transaction: wire.toString('base64'), token: 'IO' } });
    expect(unsignedRelay.status).toBeGreaterThanOrEqual(400);
    wire.set(base58Decode(signature)!, sigAt);
    const relayed = await call('POST', '/v1/wallet/deposits', { key: buyer.key, body: { transaction: wire.toString('base64'), token: 'IO' } });
    expect(relayed.status).toBe(201);
    expect(relayed.body['escrow']).toEqual({ io: '12.5' });
    expect(base58Encode(wire.subarray(sigAt, sigAt + 64))).toBe((relayed.body['deposit'] as { signature: string }).signature);
  });

  it('refuses a zero amount and needs an API key', async () => {
    const buyer = await login();
    expect((await call('POST', '/v1/wallet/deposits/unsigned', { key: buyer.key, body: { token: 'IO', amount: '0' } })).status).toBe(400);
    expect((await call('POST', '/v1/wallet/deposits/unsigned', { body: { token: 'IO', amount: '1' } })).status).toBe(401);
  });
});

describe('GET /v1/events/stream', () => {
  it('sends network counters, and the wallet clusters with an API key', async () => {
    const buyer = await login();
    const controller = new AbortController();
    const res = await cloud.app.request('/v1/events/stream', { headers: { authorization: `Bearer ${buyer.key}` }, signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: clusters')) text += new TextDecoder().decode((await reader.read()).value as Uint8Array);
    controller.abort();
    await reader.cancel();
    expect(text).toContain('event: network');
    expect(text).toContain('data: {"devicesOnline":0,"gpuSlotsOnline":0}');
    expect(text).toContain('data: {"clusters":[]}');
  });

  it('refuses a bad API key', async () => {
    const res = await cloud.app.request('/v1/events/stream', { headers: { authorization: 'Bearer igk_nope' } });
    expect(res.status).toBe(401);
  });
});

describe('GET /v1/explorer/leases/{id}', () => {
  it('answers 404 for an unknown lease and 400 for a malformed id', async () => {
    expect((await call('GET', `/v1/explorer/leases/${newLeaseId(seededRandom(1))}`)).status).toBe(404);
    expect((await call('GET', '/v1/explorer/leases/nope')).status).toBe(400);
  });
});
