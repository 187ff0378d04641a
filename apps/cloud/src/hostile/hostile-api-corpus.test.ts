import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, seededRandom, toAddress, type Address } from '@idlegrid/domain';
import { openEmbeddedLedger, type EmbeddedLedger } from '@idlegrid/chain';
import { generateKeypair, signBytes, type Keypair } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig, type CloudConfig } from '../config.ts';
import { startCloud, type RunningCloud } from '../server.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import { fundEscrowForTest } from '../testing/fund-escrow.ts';
import { seedLease } from '../testing/settlement-fixture.ts';
import { apiCases, type ApiCase, type ApiWorld } from './api-cases.ts';
import { CorpusTally } from './corpus.ts';

/**
 * Hostile HTTP input, in process (app.request) against a control plane with an embedded chain,
 * plus slowloris and an IP flood against a real port. Every case must get its coded refusal
 * (or, for legal input that must have no effect, the neutralized result): zero 5xx, zero accepted.
 */
const clock = manualClock(1_760_000_000_000);
let dir: string;
let store: Store;
let ledger: EmbeddedLedger;
let cloud: CloudApp;
let config: CloudConfig;

async function call(method: string, path: string, o: { body?: string; auth?: string; headers?: Record<string, string> } = {}) {
  const res = await cloud.app.request(path, {
    method,
    ...(o.body !== undefined ? { body: o.body } : {}),
    headers: { 'content-type': 'application/json', ...(o.auth ? { authorization: o.auth } : {}), ...o.headers },
  });
  const raw = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    body = {};
  }
  return { status: res.status, body, raw, headers: res.headers };
}

async function challenge(wallet: string): Promise<{ nonce: string; message: string }> {
  const res = await call('GET', `/v1/auth/challenge?wallet=${wallet}`);
  return res.body as { nonce: string; message: string };
}

async function login(wallet: Keypair = generateKeypair()): Promise<{ key: string; wallet: Keypair }> {
  const c = await challenge(wallet.address);
  const res = await call('POST', '/v1/auth/keys', { body: JSON.stringify({ wallet: wallet.address, nonce: c.nonce, signature: signBytes(wallet, c.message) }) });
  expect(res.status).toBe(201);
  return { key: String(res.body['apiKey']), wallet };
}

async function leaseFor(buyer: Address, seed: number): Promise<string> {
  await fundEscrowForTest(store, buyer, 50_000_000n);
  const device = toAddress(generateKeypair().address);
  return seedLease(store, {
    buyer, createdAtMs: clock.now(), readyAtMs: clock.now(), endedAtMs: null, expiresAtMs: clock.now() + 3_600_000, reservedIo: 1_000_000n, seed,
    nodes: [{ device, payout: device, slots: 1, price: 250_000n, joinedAtMs: clock.now(), endedAtMs: null }],
  });
}

async function buildWorld(): Promise<ApiWorld> {
  const a = await login();
  const b = await login();
  for (const k of [a.key, b.key]) expect((await call('POST', '/v1/wallet/airdrop', { auth: `Bearer ${k}`, body: '{"sol":"1","io":"100"}' })).status).toBe(200);
  const leaseA = await leaseFor(toAddress(a.wallet.address), 1);
  const leaseB = await leaseFor(toAddress(b.wallet.address), 2);
  const revoked = await login();
  const revokedRow = (await store.apiKeys.listByWallet(toAddress(revoked.wallet.address)))[0];
  if (!revokedRow) throw new Error('no key row');
  await store.apiKeys.revoke(revokedRow.id, clock.now());

  const victim = generateKeypair();
  const c1 = await challenge(victim.address);
  const loginSignedByOther = { wallet: victim.address, nonce: c1.nonce, signature: signBytes(generateKeypair(), c1.message) };
  const used = generateKeypair();
  const c2 = await challenge(used.address);
  const loginReplayed = { wallet: used.address, nonce: c2.nonce, signature: signBytes(used, c2.message) };
  expect((await call('POST', '/v1/auth/keys', { body: JSON.stringify(loginReplayed) })).status).toBe(201);
  const c3 = await challenge(victim.address);
  const intruder = generateKeypair();
  const loginOtherWalletsChallenge = { wallet: intruder.address, nonce: c3.nonce, signature: signBytes(intruder, c3.message) };

  const depositReplayed = await ledger.buildDepositTransaction(a.wallet, 'IO', 2_000_000n);
  expect((await call('POST', '/v1/wallet/deposits', { auth: `Bearer ${a.key}`, body: JSON.stringify({ transaction: depositReplayed, token: 'IO' }) })).status).toBe(201);
  const depositSignedByB = await ledger.buildDepositTransaction(b.wallet, 'IO', 1_000_000n);
  const view = await call('GET', `/v1/clusters/${leaseA}`, { auth: `Bearer ${a.key}` });
  return {
    keyA: a.key, keyB: b.key, walletA: a.wallet.address, walletB: b.wallet.address, leaseA, leaseB, revokedKey: revoked.key,
    loginSignedByOther, loginReplayed, loginOtherWalletsChallenge, depositSignedByB, depositReplayed, leaseAPrice: String(view.body['pricePerHour']),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'idlegrid-hostile-api-'));
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  ledger = await openEmbeddedLedger({ dataDir: join(dir, 'chain'), clock });
  await ledger.bootstrap();
  config = loadCloudConfig({}, { dataDir: dir });
  cloud = createCloudApp({ config, store, clock, random: seededRandom(11), logger: pino({ level: 'silent' }), inspector: new FakeInspector(), ledger });
});

afterAll(async () => {
  await store.close();
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

function judge(c: ApiCase, res: { status: number; body: Record<string, unknown>; raw: string }): { refused: boolean; detail: string } {
  const got = `${res.status} ${JSON.stringify((res.body['error'] as { code?: string } | undefined)?.code ?? res.raw.slice(0, 80))}`;
  if ('code' in c.expect) {
    const code = (res.body['error'] as { code?: string } | undefined)?.code;
    return { refused: res.status === c.expect.status && code === c.expect.code, detail: `expected ${c.expect.status} ${c.expect.code}, got ${got}` };
  }
  return { refused: res.status === c.expect.status && c.expect.check(res.body, res.raw), detail: `expected ${c.expect.status} with ${c.expect.what}, got ${got}` };
}

describe('hostile HTTP corpus', () => {
  it('refuses every forged, malformed, oversized, traversing, cross-tenant and replayed request with its code; no 5xx', async () => {
    const world = await buildWorld();
    const tally = new CorpusTally();
    const started = Date.now();
    for (const c of apiCases(world, { maxBodyBytes: config.maxBodyBytes })) {
      const res = await call(c.method, c.path, { ...(c.body !== undefined ? { body: c.body } : {}), ...(c.auth ? { auth: c.auth } : {}), ...(c.headers ? { headers: c.headers } : {}) });
      tally.record(c.category, c.name, { ...judge(c, res), status: res.status });
    }
    // Rate limit with the default configuration: one key past its burst gets 429 with Retry-After.
    const flooder = await login();
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i <= config.rateLimitKeyBurst && !limited; i++) {
      const res = await call('GET', '/v1/me', { auth: `Bearer ${flooder.key}` });
      if (res.status !== 200) limited = res;
    }
    const limitedOk = limited?.status === 429 && (limited.body['error'] as { code: string }).code === 'RATE_LIMITED' && Number(limited.headers.get('retry-after')) >= 1;
    tally.record('rate limits', `key flood past a burst of ${config.rateLimitKeyBurst}`, { refused: limitedOk, status: limited?.status ?? 200, detail: `got ${limited?.status ?? 'no refusal'}` });
    console.log(`${tally.render('hostile HTTP corpus (in process)')}\n(${Date.now() - started} ms)`);
    expect(tally.failures).toEqual([]);
    expect(tally.totals.serverErrors).toBe(0);
    expect(tally.totals.refused).toBe(tally.totals.tried);
    expect(tally.totals.tried).toBeGreaterThan(70);
  });
});

describe('hostile HTTP on a real port', () => {
  let running: RunningCloud;

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idlegrid-hostile-port-'));
    running = await startCloud(
      loadCloudConfig({}, { port: 0, dataDir, headersTimeoutSeconds: 1, requestTimeoutSeconds: 2, rateLimitIpPerSecond: 20, rateLimitIpBurst: 60 }),
      { logger: pino({ level: 'silent' }) },
    );
  });

  afterAll(async () => {
    await running.close();
  });

  /** Opens a connection that sends a request line and then one header line every 200 ms, never finishing. */
  function slowloris(path: string): Promise<{ closedAfterMs: number; reply: string }> {
    return new Promise((resolve) => {
      const started = Date.now();
      let reply = '';
      const socket: Socket = connect(running.port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n`));
      const drip = setInterval(() => socket.writable && socket.write(`X-Drip-${Date.now()}: 1\r\n`), 200);
      socket.on('data', (d: Buffer) => (reply += d.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(drip);
        resolve({ closedAfterMs: Date.now() - started, reply });
      });
    });
  }

  it('drops slowloris connections (headers never finished) within the headers timeout while serving others', async () => {
    const tally = new CorpusTally();
    const pending = Array.from({ length: 20 }, (_, i) => slowloris(i % 2 ? '/healthz' : '/v1/supply?gpu=cpu'));
    await new Promise((r) => setTimeout(r, 300));
    const health = await fetch(`${running.url}/healthz`);
    expect(health.status).toBe(200);
    for (const r of await Promise.all(pending)) {
      tally.record('slowloris', 'headers dripped forever', { refused: r.closedAfterMs < 5000 && !r.reply.includes(' 200 '), status: Number(/^HTTP\/1\.1 (\d+)/.exec(r.reply)?.[1] ?? 0), detail: `closed after ${r.closedAfterMs} ms: ${r.reply.slice(0, 40)}` });
    }
    console.log(tally.render('slowloris on a real port'));
    expect(tally.failures).toEqual([]);
    expect(tally.totals.serverErrors).toBe(0);
  });

  it('limits one IP flooding the port: 429 with Retry-After, never a 5xx, and answers again after the refill', async () => {
    const statuses = await Promise.all(Array.from({ length: 150 }, async () => {
      const res = await fetch(`${running.url}/v1/me`, { headers: { authorization: `Bearer igk_${'2'.repeat(44)}` } });
      return { status: res.status, retryAfter: res.headers.get('retry-after') };
    }));
    const tally = new CorpusTally();
    for (const s of statuses) tally.record('rate limits', 'IP flood with forged keys', { refused: s.status === 401 || (s.status === 429 && Number(s.retryAfter) >= 1), status: s.status, detail: String(s.status) });
    console.log(tally.render('IP flood on a real port'));
    expect(statuses.filter((s) => s.status === 429).length).toBeGreaterThanOrEqual(150 - 60 - 20);
    expect(tally.failures).toEqual([]);
    expect(tally.totals.serverErrors).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
  });
});
