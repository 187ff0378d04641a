import { expect, it } from 'vitest';
import type { Address, DeviceId } from '@idlegrid/domain';
import { describeEachStore } from '../testing/store-harness.ts';
import { addresses, deviceIds } from '../test-fixtures.ts';
import type { NewSlash } from './stakes.ts';

const T0 = 1_700_000_000_000;
const [alice, bob, buyer] = addresses(3, 21) as [Address, Address, Address];
const [dev1, dev2] = deviceIds(2, 22) as [DeviceId, DeviceId];
const sig = (n: number) => `${'4'.repeat(80)}${String(n).padStart(8, '1')}`;
const IO = 1_000_000n;

function slashOf(id: string, amountIo: bigint, overrides: Partial<NewSlash> = {}): NewSlash {
  return {
    id, deviceId: dev1, staker: alice, reason: 'abandon', bps: 500, stakeIo: 1_000n * IO, amountIo, buyer, buyerIo: amountIo / 2n,
    burnedIo: amountIo - amountIo / 2n, leaseId: 'lease-1', verificationId: null, atMs: T0 + 50, ...overrides,
  };
}

describeEachStore('stakes', ({ open }) => {
  it('adds stake once per deposit signature and keeps one staker per device', async () => {
    const store = await open();
    const first = await store.stakes.add({ id: 'stk_1', deviceId: dev1, staker: alice, amountIo: 300n * IO, depositSignature: sig(1), atMs: T0 });
    expect(first).toMatchObject({ added: true, owner: null, stake: { amountIo: 300n * IO, staker: alice } });
    expect((await store.stakes.add({ id: 'stk_2', deviceId: dev1, staker: alice, amountIo: 300n * IO, depositSignature: sig(1), atMs: T0 })).added).toBe(false);
    expect((await store.stakes.add({ id: 'stk_3', deviceId: dev1, staker: alice, amountIo: 200n * IO, depositSignature: sig(2), atMs: T0 + 1 })).stake?.amountIo).toBe(500n * IO);
    const other = await store.stakes.add({ id: 'stk_4', deviceId: dev1, staker: bob, amountIo: 1n, depositSignature: sig(3), atMs: T0 + 2 });
    expect(other).toMatchObject({ added: false, owner: alice });
    expect(await store.stakes.addBySignature(sig(3))).toBeNull();
    expect((await store.stakes.addBySignature(sig(2)))?.amountIo).toBe(200n * IO);
    await store.stakes.add({ id: 'stk_5', deviceId: dev2, staker: bob, amountIo: 7n, depositSignature: sig(4), atMs: T0 });
    expect((await store.stakes.listByStaker(alice)).map((s) => s.deviceId)).toEqual([dev1]);
    expect(await store.stakes.activeByStaker()).toEqual([
      { wallet: alice, amountIo: 500n * IO },
      { wallet: bob, amountIo: 7n },
    ].sort((a, b) => (a.wallet < b.wallet ? -1 : 1)));
  });

  it('moves stake into cooldown, pays due unstakes once, and refuses more than the active stake', async () => {
    const store = await open();
    await store.stakes.add({ id: 'stk_1', deviceId: dev1, staker: alice, amountIo: 100n, depositSignature: sig(1), atMs: T0 });
    expect(await store.stakes.requestUnstake({ id: 'uns_1', deviceId: dev1, staker: bob, amountIo: 10n, requestedAtMs: T0, availableAtMs: T0 + 10 })).toBeNull();
    expect(await store.stakes.requestUnstake({ id: 'uns_1', deviceId: dev1, staker: alice, amountIo: 101n, requestedAtMs: T0, availableAtMs: T0 + 10 })).toBeNull();
    const u = await store.stakes.requestUnstake({ id: 'uns_1', deviceId: dev1, staker: alice, amountIo: 40n, requestedAtMs: T0, availableAtMs: T0 + 10 });
    expect(u).toMatchObject({ amountIo: 40n, payoutSignature: null });
    expect((await store.stakes.get(dev1))?.amountIo).toBe(60n);
    expect(await store.stakes.cooling(dev1, T0 + 9)).toHaveLength(1);
    expect(await store.stakes.dueUnstakes(T0 + 9, 10)).toEqual([]);
    expect(await store.stakes.cooling(dev1, T0 + 10)).toEqual([]);
    expect((await store.stakes.dueUnstakes(T0 + 10, 10)).map((x) => x.id)).toEqual(['uns_1']);
    await store.stakes.setUnstakePaid('uns_1', 'paid-sig');
    expect(await store.stakes.dueUnstakes(T0 + 10, 10)).toEqual([]);
    expect((await store.stakes.unstakes(dev1))[0]?.payoutSignature).toBe('paid-sig');
  });

  it('records a slash once, taking it from the active stake and the unstakes still in cooldown', async () => {
    const store = await open();
    await store.stakes.add({ id: 'stk_1', deviceId: dev1, staker: alice, amountIo: 100n, depositSignature: sig(1), atMs: T0 });
    await store.stakes.requestUnstake({ id: 'uns_1', deviceId: dev1, staker: alice, amountIo: 40n, requestedAtMs: T0, availableAtMs: T0 + 1000 });
    const s = slashOf('slh_1', 80n, { stakeIo: 100n });
    const first = await store.stakes.recordSlash(s, { fromActive: 60n, fromCooling: [{ id: 'uns_1', amountIo: 20n }] });
    expect(first).toMatchObject({ recorded: true, slash: { ...s, signatures: null, paidAtMs: null } });
    const again = await store.stakes.recordSlash(s, { fromActive: 60n, fromCooling: [{ id: 'uns_1', amountIo: 20n }] });
    expect(again.recorded).toBe(false);
    expect((await store.stakes.get(dev1))?.amountIo).toBe(0n);
    expect((await store.stakes.unstakes(dev1))[0]?.amountIo).toBe(20n);
    expect((await store.stakes.unpaidSlashes(10)).map((x) => x.id)).toEqual(['slh_1']);
    await store.stakes.setSlashPaid('slh_1', ['a', 'b'], T0 + 60);
    expect(await store.stakes.unpaidSlashes(10)).toEqual([]);
    expect(await store.stakes.slash('slh_1')).toMatchObject({ signatures: ['a', 'b'], paidAtMs: T0 + 60 });
    // A slash that takes more than there is rolls back whole.
    await expect(store.stakes.recordSlash(slashOf('slh_2', 10n), { fromActive: 10n, fromCooling: [] })).rejects.toMatchObject({ code: 'STORE_ERROR' });
    expect(await store.stakes.slash('slh_2')).toBeNull();
    // Nothing to pay: settled when recorded.
    expect((await store.stakes.recordSlash(slashOf('slh_3', 0n, { buyer: null }), { fromActive: 0n, fromCooling: [] })).slash.paidAtMs).toBe(T0 + 50);
    expect((await store.stakes.slashes(dev1)).map((x) => x.id).sort()).toEqual(['slh_1', 'slh_3']);
  });
});
