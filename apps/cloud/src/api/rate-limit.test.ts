import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, seededRandom } from '@idlegrid/domain';
import { generateKeypair, signBytes } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig } from '../config.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import { TokenBuckets } from './rate-limit.ts';

describe('TokenBuckets', () => {
  it('lets a burst through, then refills at the rate and says when to retry', () => {
    const clock = manualClock(0);
    const buckets = new TokenBuckets({ perSecond: 2, burst: 3 }, clock);
    expect([1, 2, 3].map(() => buckets.take('a'))).toEqual([0, 0, 0]);
    expect(buckets.take('a')).toBe(1);
    expect(buckets.take('b')).toBe(0);
    clock.advance(500);
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(1);
    clock.advance(10_000);
    expect([1, 2, 3, 4].map(() => buckets.take('a'))).toEqual([0, 0, 0, 1]);
  });

  it('gives a long wait when the rate is slow, and does nothing when turned off', () => {
    const clock = manualClock(0);
    const slow = new TokenBuckets({ perSecond: 0.1, burst: 1 }, clock);
    expect(slow.take('k')).toBe(0);
    expect(slow.take('k')).toBe(10);
    const off = new TokenBuckets({ perSecond: 0, burst: 1 }, clock);
    expect(Array.from({ length: 100 }, () => off.take('k')).every((s) => s === 0)).toBe(true);
  });

  it('keeps at most maxKeys buckets, dropping the least recently used', () => {
    const clock = manualClock(0);
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1 }, clock, 2);
    buckets.take('a');
    buckets.take('b');
    buckets.take('a');
    buckets.take('c');
    expect(buckets.take('b')).toBe(0);
    expect(buckets.take('c')).toBe(1);
  });
});

describe('rate limits on the HTTP API', () => {
  let store: Store;
  let cloud: CloudApp;
  const clock = manualClock(1_700_000_000_000);

  beforeAll(async () => {
    store = await openStore({ kind: 'sqlite', path: ':memory:' });
    cloud = createCloudApp({
      config: loadCloudConfig({}, { rateLimitKeyPerSecond: 1, rateLimitKeyBurst: 5, rateLimitIpPerSecond: 10, rateLimitIpBurst: 40 }),
      store, clock, random: seededRandom(9), logger: pino({ level: 'silent' }), inspector: new FakeInspector(),
    });
  });

  afterAll(async () => {
    await store.close();
  });

  async function login(): Promise<string> {
    const wallet = generateKeypair();
    const challenge = (await (await cloud.app.request(`/v1/auth/challenge?wallet=${wallet.address}`)).json()) as { nonce: string; message: string };
    const res = await cloud.app.request('/v1/auth/keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ wallet: wallet.address, nonce: challenge.nonce, signature: signBytes(wallet, challenge.message) }),
    });
    return ((await res.json()) as { apiKey: string }).apiKey;
  }

  const me = (key: string) => cloud.app.request('/v1/me', { headers: { authorization: `Bearer ${key}` } });

  it('answers 429 RATE_LIMITED with Retry-After once a key spent its burst; other keys are unaffected; it refills', async () => {
    const a = await login();
    const b = await login();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await me(a)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = await me(a);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toMatchObject({ error: { code: 'RATE_LIMITED', details: { retryAfterSeconds: 1 } } });
    expect((await me(b)).status).toBe(200);
    clock.advance(1000);
    expect((await me(a)).status).toBe(200);
    expect((await me(a)).status).toBe(429);
  });

  it('limits a client by IP before authentication, so forged keys cannot flood the store', async () => {
    clock.advance(60_000);
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await me(`igk_${'1'.repeat(40)}`)).status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(40);
    expect(statuses.slice(40)).toEqual([429, 429, 429, 429, 429]);
    const health = await cloud.app.request('/healthz');
    expect(health.status).toBe(429);
    expect(Number(health.headers.get('retry-after'))).toBeGreaterThan(0);
    clock.advance(60_000);
    expect((await cloud.app.request('/healthz')).status).toBe(200);
  });
});
