import { expect, it } from 'vitest';
import type { Address, ApiKeyId } from '@idlegrid/domain';
import { isStoreConflict } from '../errors.ts';
import { describeEachStore } from '../testing/store-harness.ts';
import { addresses } from '../test-fixtures.ts';

const T0 = 1_700_000_000_000;
const [walletA, walletB] = addresses(2, 3) as [Address, Address];
const keyId = (n: number) => `key_${String(n).padStart(20, '0')}` as ApiKeyId;

describeEachStore('apiKeys', ({ open }) => {
  it('creates, finds by hash and lists by wallet', async () => {
    const store = await open();
    const created = await store.apiKeys.create({ id: keyId(1), wallet: walletA, keyHash: 'h1', label: 'laptop', createdAtMs: T0 });
    expect(created).toEqual({
      id: keyId(1), wallet: walletA, keyHash: 'h1', label: 'laptop', createdAtMs: T0, lastUsedAtMs: null, revokedAtMs: null,
    });
    await store.apiKeys.create({ id: keyId(2), wallet: walletA, keyHash: 'h2', createdAtMs: T0 + 5 });
    await store.apiKeys.create({ id: keyId(3), wallet: walletB, keyHash: 'h3', createdAtMs: T0 + 1 });
    expect(await store.apiKeys.findByHash('h1')).toEqual(created);
    expect(await store.apiKeys.findByHash('nope')).toBeNull();
    expect((await store.apiKeys.listByWallet(walletA)).map((k) => [k.id, k.label])).toEqual([[keyId(1), 'laptop'], [keyId(2), null]]);
    expect(await store.apiKeys.listByWallet(addresses(1, 77)[0] as Address)).toEqual([]);
  });

  it('refuses a duplicate hash or id as a conflict', async () => {
    const store = await open();
    await store.apiKeys.create({ id: keyId(1), wallet: walletA, keyHash: 'h1', createdAtMs: T0 });
    const dupHash = store.apiKeys.create({ id: keyId(2), wallet: walletA, keyHash: 'h1', createdAtMs: T0 });
    await expect(dupHash).rejects.toMatchObject({ code: 'STORE_ERROR', context: { operation: 'apiKeys.create' } });
    expect(isStoreConflict(await dupHash.catch((e: unknown) => e))).toBe(true);
    const dupId = await store.apiKeys.create({ id: keyId(1), wallet: walletA, keyHash: 'h9', createdAtMs: T0 }).catch((e: unknown) => e);
    expect(isStoreConflict(dupId)).toBe(true);
  });

  it('touches forward only', async () => {
    const store = await open();
    await store.apiKeys.create({ id: keyId(1), wallet: walletA, keyHash: 'h1', createdAtMs: T0 });
    expect(await store.apiKeys.touch(keyId(1), T0 + 100)).toBe(true);
    await store.apiKeys.touch(keyId(1), T0 + 50);
    expect((await store.apiKeys.findByHash('h1'))?.lastUsedAtMs).toBe(T0 + 100);
    expect(await store.apiKeys.touch(keyId(9), T0)).toBe(false);
  });

  it('revokes once; a revoked key is not found by hash but still listed', async () => {
    const store = await open();
    await store.apiKeys.create({ id: keyId(1), wallet: walletA, keyHash: 'h1', createdAtMs: T0 });
    expect(await store.apiKeys.revoke(keyId(1), T0 + 10)).toBe(true);
    expect(await store.apiKeys.revoke(keyId(1), T0 + 20)).toBe(false);
    expect(await store.apiKeys.revoke(keyId(2), T0 + 20)).toBe(false);
    expect(await store.apiKeys.findByHash('h1')).toBeNull();
    expect((await store.apiKeys.listByWallet(walletA))[0]?.revokedAtMs).toBe(T0 + 10);
  });
});

describeEachStore('authChallenges', ({ open }) => {
  it('consumes a challenge exactly once', async () => {
    const store = await open();
    const challenge = { nonce: 'n-1', wallet: walletA, expiresAtMs: T0 + 60_000 };
    expect(await store.authChallenges.create(challenge)).toEqual(challenge);
    expect(await store.authChallenges.consume('n-1', T0)).toEqual(challenge);
    expect(await store.authChallenges.consume('n-1', T0)).toBeNull();
    expect(await store.authChallenges.consume('never-issued', T0)).toBeNull();
  });

  it('gives a challenge to only one of many concurrent consumers', async () => {
    const store = await open();
    await store.authChallenges.create({ nonce: 'race', wallet: walletA, expiresAtMs: T0 + 60_000 });
    const results = await Promise.all(Array.from({ length: 12 }, () => store.authChallenges.consume('race', T0)));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });

  it('refuses an expired challenge and deletes it', async () => {
    const store = await open();
    await store.authChallenges.create({ nonce: 'old', wallet: walletA, expiresAtMs: T0 });
    expect(await store.authChallenges.consume('old', T0)).toBeNull();
    await store.authChallenges.create({ nonce: 'old', wallet: walletA, expiresAtMs: T0 + 10 });
    expect(await store.authChallenges.consume('old', T0 + 9)).not.toBeNull();
  });

  it('refuses a duplicate nonce as a conflict', async () => {
    const store = await open();
    await store.authChallenges.create({ nonce: 'dup', wallet: walletA, expiresAtMs: T0 });
    expect(isStoreConflict(await store.authChallenges.create({ nonce: 'dup', wallet: walletB, expiresAtMs: T0 }).catch((e: unknown) => e))).toBe(true);
  });

  it('purges expired challenges only', async () => {
    const store = await open();
    for (let i = 0; i < 10; i++) await store.authChallenges.create({ nonce: `n${i}`, wallet: walletA, expiresAtMs: T0 + i * 1000 });
    expect(await store.authChallenges.purgeExpired(T0 + 4_000)).toBe(5);
    expect(await store.authChallenges.consume('n4', T0)).toBeNull();
    expect(await store.authChallenges.consume('n5', T0)).not.toBeNull();
    expect(await store.authChallenges.purgeExpired(T0 + 4_000)).toBe(0);
  });
});
