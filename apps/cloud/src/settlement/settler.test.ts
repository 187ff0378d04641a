import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedLedger, signerFromSeed, type ChainSigner, type EmbeddedLedger } from '@idlegrid/chain';
import { convertUsdcToIo, manualClock, parseUsd, toAddress, type Address, type DeviceId, type LeaseId } from '@idlegrid/domain';
import { generateKeypair } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { seedLease, type SeedNode } from '../testing/settlement-fixture.ts';
import { auditLease } from './audit.ts';
import { leaseMemo, refundMemo } from './chain-tasks.ts';
import { billableSeconds, type SettlementTerms } from './metering.ts';
import { Settler } from './settler.ts';
import { storeIdempotency } from './store-idempotency.ts';

const T0 = 1_800_000_000_000; // a multiple of 60 s
const terms: SettlementTerms = { protocolFeeBps: 250, feeBurnShareBps: 5000, ioUsdPrice: parseUsd('1.00'), usageSlackSeconds: 15 };
const PRICE = 3_600_000n; // 3.60 USD per GPU-hour = 1,000 µUSD per slot-second = 1,000 µIO at 1.00 USD/IO

let store: Store;
let ledger: EmbeddedLedger;
let settler: Settler;
let buyer: ChainSigner;
const clock = manualClock(T0);
const wallet = () => toAddress(generateKeypair().address);
const device = (): DeviceId => wallet();

function makeSettler(crash?: (point: string) => void): Settler {
  return new Settler({ store, ledger, clock, logger: pino({ level: 'silent' }), terms: () => terms, settleSeconds: 60, ...(crash ? { crash } : {}) });
}

/** A buyer deposit of `usdc` USDC through the real ledger, credited and converted as the API does. */
async function depositUsdc(usdc: bigint): Promise<bigint> {
  const verified = await ledger.verifyDeposit(await ledger.buildDepositTransaction(buyer, 'USDC', usdc), { from: buyer.address, mint: 'USDC' });
  const c = convertUsdcToIo(verified.amount, terms.ioUsdPrice, 200);
  const { deposit } = await store.wallets.credit({ signature: verified.signature, wallet: buyer.address, token: 'USDC', amountPaid: verified.amount, ioCredited: c.credited, fee: c.fee, atMs: clock.now() });
  await settler.tasks.convert(deposit);
  return c.credited;
}

beforeEach(async () => {
  clock.set(T0);
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  ledger = await openEmbeddedLedger({ dataDir: null, clock, idempotency: storeIdempotency(store) });
  await ledger.bootstrap();
  buyer = signerFromSeed(new Uint8Array(randomBytes(32)));
  await ledger.airdrop(buyer.address, { sol: 10n ** 9n, usdc: 1_000_000_000n });
  settler = makeSettler();
});

afterEach(async () => {
  await settler.stop();
  await ledger.close();
  await store.close();
});

const gross = (seconds: number, slots: number) => BigInt(seconds * slots * 1000);
const fee = (g: bigint) => (g * 250n) / 10_000n;

describe('settlement', () => {
  it('pays suppliers exactly billed seconds × price × (1 − fee), burns fee × share, refunds the rest, and the audit is consistent', async () => {
    const credited = await depositUsdc(100_000_000n); // 100 USDC → 98 IO
    expect(credited).toBe(98_000_000n);
    const [a, b] = [{ device: device(), payout: wallet() }, { device: device(), payout: wallet() }];
    const nodes: SeedNode[] = [
      { ...a, slots: 1, price: PRICE, joinedAtMs: T0 + 5_000, endedAtMs: null }, // joined before ready: billed from ready
      { ...b, slots: 2, price: PRICE, joinedAtMs: T0 + 12_000, endedAtMs: null },
    ];
    const reserved = 3n * 3_600_000n; // 3 slots × 3.60 USD × 1 hour, in µIO
    const id = await seedLease(store, { buyer: buyer.address, createdAtMs: T0, readyAtMs: T0 + 10_000, endedAtMs: null, expiresAtMs: T0 + 3_600_000, reservedIo: reserved, nodes });
    expect(await store.wallets.balance(buyer.address)).toBe(credited - reserved);

    clock.set(T0 + 70_000);
    const first = await settler.round();
    expect(first.batch).toBe(`stl-${T0 + 60_000}`);
    // Early release at T0 + 95.5 s: both nodes end, the lease ends.
    const lease = (await store.leases.get(id))!;
    await store.leases.update(id, lease.version, { state: 'ended', endedAtMs: T0 + 95_500 });
    for (const n of await store.leases.nodes(id)) await store.leases.updateNode(n.id, { state: 'released', endedAtMs: T0 + 95_500 });
    clock.set(T0 + 130_000);
    const second = await settler.round();
    expect(second).toMatchObject({ batch: `stl-${T0 + 120_000}`, closed: 1 });

    // Node a: 50 s + 35 s; node b: 48 s + 35 s at 2 slots. Fractions of a second are never billed.
    const records = await store.settlement.recordsOfLease(id);
    expect(records.map((r) => [r.deviceId, r.seconds])).toEqual([[a.device, 50], [b.device, 48], [a.device, 35], [b.device, 35]]);
    const grossA = [gross(50, 1), gross(35, 1)];
    const grossB = [gross(48, 2), gross(35, 2)];
    const netOf = (gs: bigint[]) => gs.reduce((n, g) => n + g - fee(g), 0n);
    expect((await ledger.balances(a.payout)).io).toBe(netOf(grossA));
    expect((await ledger.balances(b.payout)).io).toBe(netOf(grossB));
    const batchFees = [fee(grossA[0]!) + fee(grossB[0]!), fee(grossA[1]!) + fee(grossB[1]!)];
    const burned = batchFees.reduce((n, f) => n + f / 2n, 0n);
    const treasury = batchFees.reduce((n, f) => n + f - f / 2n, 0n);
    const charged = [...grossA, ...grossB].reduce((n, g) => n + g, 0n);
    expect((await store.escrow.get(id))!.chargedIo).toBe(charged);
    // The refund went back to the buyer's wallet on chain.
    expect((await ledger.balances(buyer.address)).io).toBe(reserved - charged);
    const info = ledger.info();
    expect(await ledger.tokenAccountBalance(info.accounts.IO.treasury)).toBe(treasury);
    // Escrow holds exactly what the store says buyers still have.
    expect(await ledger.tokenAccountBalance(info.accounts.IO.escrow)).toBe(await store.wallets.balance(buyer.address));
    const conservation = await ledger.conservation('IO');
    expect(conservation).toMatchObject({ ok: true, burned, supply: credited - burned });

    const audit = await auditLease(store, ledger, (await store.leases.get(id))!);
    expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
    expect(audit).toMatchObject({ consistent: true, settled: true, money: { refundIo: ((Number(reserved - charged)) / 1e6).toString() } });
    expect(audit.transactions.map((t) => t.kind).sort()).toEqual(['lease-close', 'lease-open', 'refund', 'settle', 'settle']);
    expect(audit.devices.find((d) => d.deviceId === b.device)).toMatchObject({ billedSeconds: 83 });

    // Another round changes nothing on chain.
    const before = ledger.embedded.stats().transactions;
    clock.set(T0 + 250_000);
    expect(await settler.round()).toEqual({ batch: null, resumed: 0, closed: 0 });
    expect(ledger.embedded.stats().transactions).toBe(before);
  });

  it('bills no more than the agent signed for (plus the slack), and refunds a lease that never became ready in full', async () => {
    await depositUsdc(10_000_000n);
    const capped = { device: device(), payout: wallet() };
    const cappedId = await seedLease(store, {
      buyer: buyer.address, createdAtMs: T0, readyAtMs: T0, endedAtMs: T0 + 100_000, expiresAtMs: T0 + 3_600_000, reservedIo: 1_000_000n, seed: 1,
      nodes: [{ ...capped, slots: 1, price: PRICE, joinedAtMs: T0, endedAtMs: T0 + 100_000, reportedSeconds: 40 }],
    });
    const twoSlotId = await seedLease(store, {
      buyer: buyer.address, createdAtMs: T0, readyAtMs: T0, endedAtMs: T0 + 100_000, expiresAtMs: T0 + 3_600_000, reservedIo: 2_000_000n, seed: 3,
      nodes: [{ device: device(), payout: wallet(), slots: 2, price: PRICE, joinedAtMs: T0, endedAtMs: T0 + 100_000, reportedSeconds: 80 }],
    });
    const neverReady = await seedLease(store, {
      buyer: buyer.address, createdAtMs: T0, readyAtMs: null, endedAtMs: T0 + 30_000, expiresAtMs: T0 + 3_600_000, reservedIo: 2_000_000n, seed: 2,
      nodes: [{ device: device(), payout: wallet(), slots: 1, price: PRICE, joinedAtMs: T0 + 1_000, endedAtMs: T0 + 30_000 }],
    });
    clock.set(T0 + 130_000);
    await settler.round();
    expect((await store.settlement.recordsOfLease(cappedId)).map((r) => r.seconds)).toEqual([55]);
    // Reports are GPU-seconds: 80 from a 2-slot node are 40 node seconds, so the same cap applies (not 80 + 15).
    expect((await store.settlement.recordsOfLease(twoSlotId)).map((r) => [r.seconds, r.slots])).toEqual([[55, 2]]);
    expect(await store.settlement.recordsOfLease(neverReady)).toEqual([]);
    expect((await store.escrow.get(neverReady))!.refundIo).toBe(2_000_000n);
    expect((await ledger.balances(buyer.address)).io).toBe(2_000_000n + 1_000_000n + 2_000_000n - gross(55, 1) - gross(55, 2));
    for (const id of [cappedId, twoSlotId, neverReady]) expect((await auditLease(store, ledger, (await store.leases.get(id))!)).consistent).toBe(true);
  });

  // Found by `npm run test:chaos`: an agent killed between two heartbeats is noticed after a round
  // already billed its node up to the cut-off, then ended at its last heartbeat: billed > served.
  it('bills a running node only up to when it was last seen, so a loss found later never ends it before billed seconds', async () => {
    await depositUsdc(10_000_000n);
    const s = { device: device(), payout: wallet() };
    const id = await seedLease(store, {
      buyer: buyer.address, createdAtMs: T0, readyAtMs: T0 + 10_000, endedAtMs: null, expiresAtMs: T0 + 3_600_000, reservedIo: 1_000_000n,
      nodes: [{ ...s, slots: 1, price: PRICE, joinedAtMs: T0 + 10_000, endedAtMs: null, lastSeenMs: T0 + 40_000 }],
    });
    clock.set(T0 + 61_000);
    await settler.round();
    expect((await store.settlement.recordsOfLease(id)).map((r) => r.seconds)).toEqual([30]);
    // The device went silent after its heartbeat at T0 + 45 s: the node is lost there, the lease released.
    const [node] = await store.leases.nodes(id);
    await store.leases.updateNode(node!.id, { state: 'lost', endedAtMs: T0 + 45_000, endReason: 'device offline' });
    const lease = (await store.leases.get(id))!;
    await store.leases.update(id, lease.version, { state: 'ended', endedAtMs: T0 + 50_000 });
    clock.set(T0 + 121_000);
    await settler.round();
    const lost = (await store.leases.nodes(id))[0]!;
    expect((await store.settlement.recordsOfLease(id)).map((r) => r.seconds)).toEqual([30, 5]);
    expect(billableSeconds((await store.leases.get(id))!, lost, clock.now())).toBe(35);
    expect((await auditLease(store, ledger, (await store.leases.get(id))!)).consistent).toBe(true);
  });

  it('repairs a round that died at any point: each batch, refund and anchor lands exactly once', async () => {
    await depositUsdc(10_000_000n);
    const points = ['settle.batch-recorded', 'settle.batch-sent', 'refund.sent', 'anchor.sent'];
    const leases: Array<{ id: LeaseId; suppliers: Array<{ device: DeviceId; payout: Address }> }> = [];
    for (const [i, point] of points.entries()) {
      const start = T0 + i * 120_000;
      const suppliers = Array.from({ length: 25 }, () => ({ device: device(), payout: wallet() }));
      const id = await seedLease(store, {
        buyer: buyer.address, createdAtMs: start, readyAtMs: start, endedAtMs: start + 30_000, expiresAtMs: start + 3_600_000, reservedIo: 1_000_000n, seed: i,
        nodes: suppliers.map((s) => ({ ...s, slots: 1, price: PRICE, joinedAtMs: start, endedAtMs: start + 30_000 })),
      });
      leases.push({ id, suppliers });
      clock.set(start + 61_000);
      const crashing = makeSettler((p) => {
        if (p === point) throw new Error(`crash at ${p}`);
      });
      await expect(crashing.round()).rejects.toThrow(`crash at ${point}`);
    }
    clock.set(T0 + points.length * 120_000 + 1_000);
    await makeSettler().round();
    await makeSettler().round();
    for (const { id, suppliers } of leases) {
      const [batchId] = new Set((await store.settlement.recordsOfLease(id)).map((r) => r.batchId));
      const batch = (await store.settlement.batch(batchId!))!;
      expect(batch.state).toBe('paid');
      // Every supplier is distinct: ⌈payouts / 20⌉ transactions, and the chain holds exactly those with the batch memo.
      expect(batch.signatures).toHaveLength(Math.ceil(batch.records / 20));
      expect(await ledger.findByMemo(batch.memo)).toEqual(batch.signatures);
      for (const s of suppliers) expect((await ledger.balances(s.payout)).io).toBe(gross(30, 1) - fee(gross(30, 1)));
      const account = (await store.escrow.get(id))!;
      expect(await ledger.findByMemo(refundMemo(id))).toEqual([account.refundSignature]);
      expect(await ledger.findByMemo(leaseMemo(id, account.termsHash))).toEqual([account.openAnchor]);
      const audit = await auditLease(store, ledger, (await store.leases.get(id))!);
      expect(audit).toMatchObject({ consistent: true, settled: true });
    }
    expect((await ledger.balances(buyer.address)).io).toBe(BigInt(points.length) * (1_000_000n - 25n * gross(30, 1)));
    expect((await ledger.conservation('IO')).ok).toBe(true);
  });

  it('finds a payment made outside the records: the audit is inconsistent', async () => {
    await depositUsdc(10_000_000n);
    const s = { device: device(), payout: wallet() };
    const id = await seedLease(store, {
      buyer: buyer.address, createdAtMs: T0, readyAtMs: T0, endedAtMs: T0 + 30_000, expiresAtMs: T0 + 3_600_000, reservedIo: 1_000_000n,
      nodes: [{ ...s, slots: 1, price: PRICE, joinedAtMs: T0, endedAtMs: T0 + 30_000 }],
    });
    clock.set(T0 + 61_000);
    await settler.round();
    const batch = (await store.settlement.batch(`stl-${T0 + 60_000}`))!;
    // Someone pays the same batch again under another id but with the batch's memo.
    await ledger.payBatch({ id: 'rogue', memo: batch.memo, transfers: [{ to: s.payout, amount: 1n }], mint: 'IO' });
    const audit = await auditLease(store, ledger, (await store.leases.get(id))!);
    expect(audit.consistent).toBe(false);
    expect(audit.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([`exactly the recorded transactions carry ${batch.memo}`]);
  });
});
