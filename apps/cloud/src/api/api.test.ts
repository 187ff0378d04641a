import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, seededRandom } from '@idlegrid/domain';
import { generateKeypair, signBytes } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig } from '../config.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';

type ApiBody = Record<string, unknown> & { error: { code: string; message: string } };

let store: Store;
let cloud: CloudApp;
const clock = manualClock(1_700_000_000_000);

beforeAll(async () => {
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  cloud = createCloudApp({
    config: loadCloudConfig({}, { maxBodyBytes: 4096 }),
    store,
    clock,
    random: seededRandom(3),
    logger: pino({ level: 'silent' }),
    inspector: new FakeInspector(),
  });
});

afterAll(async () => {
  await store.close();
});

async function call(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  const res = await cloud.app.request(path, { method, ...(init.body !== undefined ? { body: init.body } : {}), headers: { 'content-type': 'application/json', ...init.headers } });
  const text = await res.text();
  const body = (text ? JSON.parse(text) : {}) as ApiBody;
  return { status: res.status, body };
}

async function login(): Promise<{ apiKey: string; wallet: string }> {
  const wallet = generateKeypair();
  const challenge = await call('GET', `/v1/auth/challenge?wallet=${wallet.address}`);
  expect(challenge.status).toBe(200);
  const issued = await call('POST', '/v1/auth/keys', {
    body: JSON.stringify({ wallet: wallet.address, nonce: challenge.body['nonce'], signature: signBytes(wallet, String(challenge.body['message'])) }),
  });
  expect(issued.status).toBe(201);
  return { apiKey: String(issued.body['apiKey']), wallet: wallet.address };
}

describe('HTTP API', () => {
  it('answers health, metrics and an OpenAPI document listing every route', async () => {
    expect((await call('GET', '/healthz')).body).toMatchObject({ ok: true, store: 'sqlite' });
    const metrics = await cloud.app.request('/metrics');
    expect(await metrics.text()).toContain('idlegrid_devices_online 0');
    const doc = (await call('GET', '/v1/openapi.json')).body;
    for (const path of ['/v1/supply', '/v1/devices', '/v1/devices/{id}', '/v1/auth/challenge', '/v1/auth/keys', '/healthz']) {
      expect(doc['paths']).toHaveProperty([path]);
    }
  });

  it('issues an API key for a signed challenge, once', async () => {
    const { apiKey, wallet } = await login();
    const me = await call('GET', '/v1/me', { headers: { authorization: `Bearer ${apiKey}` } });
    expect(me).toMatchObject({ status: 200, body: { wallet } });
  });

  it('refuses a reused challenge, a wrong signer and an expired challenge', async () => {
    const wallet = generateKeypair();
    const c1 = (await call('GET', `/v1/auth/challenge?wallet=${wallet.address}`)).body;
    const good = JSON.stringify({ wallet: wallet.address, nonce: c1['nonce'], signature: signBytes(wallet, String(c1['message'])) });
    expect((await call('POST', '/v1/auth/keys', { body: good })).status).toBe(201);
    expect((await call('POST', '/v1/auth/keys', { body: good })).body.error.code).toBe('CHALLENGE_UNKNOWN');

    const c2 = (await call('GET', `/v1/auth/challenge?wallet=${wallet.address}`)).body;
    const forged = JSON.stringify({ wallet: wallet.address, nonce: c2['nonce'], signature: signBytes(generateKeypair(), String(c2['message'])) });
    const res = await call('POST', '/v1/auth/keys', { body: forged });
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'BAD_SIGNATURE' } } });

    const c3 = (await call('GET', `/v1/auth/challenge?wallet=${wallet.address}`)).body;
    clock.advance(3_600_000);
    const late = JSON.stringify({ wallet: wallet.address, nonce: c3['nonce'], signature: signBytes(wallet, String(c3['message'])) });
    expect((await call('POST', '/v1/auth/keys', { body: late })).body.error.code).toBe('CHALLENGE_UNKNOWN');
  });

  it.each([
    ['GET', '/v1/supply?gpu=H1000', 400, 'UNKNOWN_GPU_MODEL'],
    ['GET', '/v1/supply?region=mars-1', 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/supply?maxPrice=cheap', 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/supply?minTier=diamond', 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/devices?limit=0', 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/devices?limit=abc', 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/devices?cursor=nope', 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/devices?status=sleeping', 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/devices/not-an-address', 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/devices/11111111111111111111111111111111', 404, 'NOT_FOUND'],
    ['GET', '/v1/auth/challenge', 400, 'VALIDATION_FAILED'],
    ['GET', '/v1/me', 401, 'UNAUTHORIZED'],
    ['GET', '/v1/nothing-here', 404, 'ROUTE_NOT_FOUND'],
  ])('%s %s → %i %s', async (method, path, status, code) => {
    const res = await call(method, path);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(typeof res.body.error.message).toBe('string');
  });

  it.each([
    ['{"wallet": ', 400, 'MALFORMED_JSON'],
    ['[]', 400, 'VALIDATION_FAILED'],
    ['{"wallet":"x","nonce":"y","signature":"z"}', 400, 'VALIDATION_FAILED'],
    [JSON.stringify({ pad: 'x'.repeat(10_000) }), 413, 'PAYLOAD_TOO_LARGE'],
  ])('POST /v1/auth/keys %# → %i %s', async (body, status, code) => {
    const res = await call('POST', '/v1/auth/keys', { body });
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
  });

  it('refuses malformed and unknown API keys', async () => {
    for (const header of ['Bearer', 'Basic abc', 'Bearer igk_short', `Bearer igk_${'1'.repeat(44)}`]) {
      const res = await call('GET', '/v1/me', { headers: { authorization: header } });
      expect(res).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    }
  });

  it('never answers a 5xx to arbitrary query strings and bodies on any route', async () => {
    const doc = cloud.openapi as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ path, method: m.toUpperCase() })));
    const junk = fc.oneof(fc.string(), fc.constantFrom('', '-1', '0', '1e309', 'NaN', '%00', '../..', 'H100', 'us-east', '9'.repeat(40)));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.dictionary(fc.constantFrom('gpu', 'region', 'minTier', 'maxPrice', 'limit', 'cursor', 'status', 'wallet', 'x'), junk), fc.oneof(fc.json(), fc.string()), junk, async (route, query, body, idPart) => {
        const path = route.path.replace('{id}', encodeURIComponent(idPart) || 'x');
        const qs = new URLSearchParams(query).toString();
        const res = await cloud.app.request(`${path}?${qs}`, { method: route.method, ...(route.method === 'GET' ? {} : { body }) });
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/^[A-Z_]+$/);
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
