import { expect, it } from 'vitest';
import type { Address } from '@idlegrid/domain';
import { describeEachStore } from '../testing/store-harness.ts';
import { addresses } from '../test-fixtures.ts';
import type { DepositRecord } from './wallets.ts';

const T0 = 1_700_000_000_000;
const [walletA, walletB] = addresses(2, 11) as [Address, Address];
const sig = (n: number) => `${'5'.repeat(80)}${String(n).padStart(8, '1')}`;
const BIG = 9_000_000_000_000_000_000n; // beyond 2^53: must survive both drivers exactly

function deposit(n: number, overrides: Partial<DepositRecord> = {}): DepositRecord {
  return { signature: sig(n), wallet: walletA, token: 'IO', amountPaid: 5_000_000n, ioCredited: 5_000_000n, fee: 0n, atMs: T0 + n, ...overrides };
}

describeEachStore('wallets', ({ open }) => {
  it('credits deposits to the escrow balance and lists them newest first', async () => {
    const store = await open();
    expect(await store.wallets.balance(walletA)).toBe(0n);
    expect(await store.wallets.credit(deposit(1))).toEqual({ deposit: deposit(1), credited: true });
    const usdc = deposit(2, { token: 'USDC', amountPaid: 10_000_000n, ioCredited: 9_800_000n, fee: 200_000n });
    expect((await store.wallets.credit(usdc)).credited).toBe(true);
    await store.wallets.credit(deposit(3, { wallet: walletB, ioCredited: 1n, amountPaid: 1n }));
    expect(await store.wallets.balance(walletA)).toBe(14_800_000n);
    expect(await store.wallets.balance(walletB)).toBe(1n);
    expect(await store.wallets.deposits(walletA)).toEqual([usdc, deposit(1)]);
    expect(await store.wallets.deposits(walletA, { limit: 1 })).toEqual([usdc]);
    expect(await store.wallets.deposit(sig(2))).toEqual(usdc);
    expect(await store.wallets.deposit(sig(99))).toBeNull();
  });

  it('never credits a signature twice, even with other amounts or concurrently', async () => {
    const store = await open();
    await store.wallets.credit(deposit(1));
    const replay = await store.wallets.credit(deposit(1, { ioCredited: 7n, amountPaid: 7n, wallet: walletB }));
    expect(replay).toEqual({ deposit: deposit(1), credited: false });
    const results = await Promise.all(Array.from({ length: 8 }, () => store.wallets.credit(deposit(2))));
    expect(results.filter((r) => r.credited)).toHaveLength(1);
    expect(await store.wallets.balance(walletA)).toBe(10_000_000n);
    expect(await store.wallets.balance(walletB)).toBe(0n);
    expect(await store.wallets.deposits(walletA)).toHaveLength(2);
  });

  it('keeps a replay inside a transaction harmless and the transaction usable', async () => {
    const store = await open();
    await store.wallets.credit(deposit(1));
    await store.transaction(async (tx) => {
      expect((await tx.wallets.credit(deposit(1))).credited).toBe(false);
      expect((await tx.wallets.credit(deposit(2))).credited).toBe(true);
    });
    expect(await store.wallets.balance(walletA)).toBe(10_000_000n);
  });

  it('holds amounts beyond 2^53 exactly and refuses junk amounts', async () => {
    const store = await open();
    await store.wallets.credit(deposit(1, { amountPaid: BIG, ioCredited: BIG }));
    await store.wallets.credit(deposit(2, { amountPaid: 3n, ioCredited: 3n }));
    expect(await store.wallets.balance(walletA)).toBe(BIG + 3n);
    expect((await store.wallets.deposit(sig(1)))?.amountPaid).toBe(BIG);
    await expect(store.wallets.credit(deposit(3, { amountPaid: 0n }))).rejects.toMatchObject({ code: 'STORE_ERROR' });
    await expect(store.wallets.credit(deposit(4, { ioCredited: -1n }))).rejects.toMatchObject({ code: 'STORE_ERROR' });
    expect(await store.wallets.balance(walletA)).toBe(BIG + 3n);
  });
});
