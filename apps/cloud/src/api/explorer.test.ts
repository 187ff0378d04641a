import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedLedger, signerFromSeed, type EmbeddedLedger } from '@idlegrid/chain';
import { formatDecimal, manualClock, parseDecimal, seededRandom, toAddress } from '@idlegrid/domain';
import { generateKeypair, type DeviceDetail, type ExplorerPayoutsResponse } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig } from '../config.ts';
import { storeIdempotency } from '../settlement/store-idempotency.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import { seedLease } from '../testing/settlement-fixture.ts';

const T0 = 1_800_000_000_000;
const clock = manualClock(T0);
let store: Store;
let ledger: EmbeddedLedger;
let cloud: CloudApp;
const payees = Array.from({ length: 3 }, () => ({ device: toAddress(generateKeypair().address), payout: toAddress(generateKeypair().address) }));

beforeAll(async () => {
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  ledger = await openEmbeddedLedger({ dataDir: null, clock, idempotency: storeIdempotency(store) });
  await ledger.bootstrap();
  cloud = createCloudApp({ config: loadCloudConfig({}, { settleSeconds: 60 }), store, clock, random: seededRandom(3), logger: pino({ level: 'silent' }), inspector: new FakeInspector(), ledger });
  const buyer = signerFromSeed(new Uint8Array(randomBytes(32)));
  await ledger.airdrop(buyer.address, { sol: 10n ** 9n, io: 100_000_000n });
  const d = await ledger.verifyDeposit(await ledger.buildDepositTransaction(buyer, 'IO', 100_000_000n), { from: buyer.address, mint: 'IO' });
  await store.wallets.credit({ signature: d.signature, wallet: buyer.address, token: 'IO', amountPaid: d.amount, ioCredited: d.amount, fee: 0n, atMs: T0 });
  // Two leases settled in two intervals: 30 s on payees 0+1, then 20 s on payees 1+2, at 3.60 USD/h.
  for (const [i, [start, who]] of ([[T0, [0, 1]], [T0 + 60_000, [1, 2]]] as const).entries()) {
    const seconds = i === 0 ? 30 : 20;
    await seedLease(store, {
      buyer: buyer.address, createdAtMs: start, readyAtMs: start, endedAtMs: start + seconds * 1000, expiresAtMs: start + 3_600_000, reservedIo: 1_000_000n, seed: i + 1,
      nodes: who.map((k) => ({ ...payees[k]!, slots: 1, price: 3_600_000n, joinedAtMs: start, endedAtMs: start + seconds * 1000 })),
    });
    clock.set(start + 61_000);
    await cloud.settler!.round();
  }
});

afterAll(async () => {
  await cloud.settler?.stop();
  await ledger.close();
  await store.close();
});

const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
  const res = await cloud.app.request(path);
  return { status: res.status, body: (await res.json()) as T };
};

describe('explorer', () => {
  it('lists settlement batches newest first with what each supplier got, matching the chain, and pages', async () => {
    const { status, body } = await get<ExplorerPayoutsResponse>('/v1/explorer/payouts');
    expect(status).toBe(200);
    expect(body.batches.map((b) => b.id)).toEqual([`stl-${T0 + 120_000}`, `stl-${T0 + 60_000}`]);
    expect(body.next).toBeNull();
    const paid = new Map<string, bigint>();
    for (const b of body.batches) for (const p of b.payouts) paid.set(p.to, (paid.get(p.to) ?? 0n) + parseDecimal(p.amountIo));
    for (const p of payees) expect(paid.get(p.payout)).toBe((await ledger.balances(p.payout)).io);
    const first = await get<ExplorerPayoutsResponse>('/v1/explorer/payouts?limit=1');
    expect(first.body.next).toBe(`stl-${T0 + 120_000}`);
    const second = await get<ExplorerPayoutsResponse>(`/v1/explorer/payouts?limit=1&cursor=${first.body.next}`);
    expect(second.body.batches.map((b) => b.id)).toEqual([`stl-${T0 + 60_000}`]);
  });

  it('shows the burns (their total is what the chain burned) and the leases with their anchors and refunds', async () => {
    const burns = await get<{ burns: Array<{ burnIo: string }>; totalBurnedIo: string }>('/v1/explorer/burns');
    expect(burns.body.burns).toHaveLength(2);
    expect(burns.body.totalBurnedIo).toBe(formatDecimal((await ledger.conservation('IO')).burned!));
    const leases = await get<{ leases: Array<{ openAnchor: string | null; closeAnchor: string | null; refundIo: string | null; chargedIo: string | null }> }>('/v1/explorer/leases');
    expect(leases.body.leases).toHaveLength(2);
    for (const l of leases.body.leases) {
      expect(l.openAnchor).not.toBeNull();
      expect(l.closeAnchor).not.toBeNull();
      expect(Number(l.chargedIo) + Number(l.refundIo)).toBeCloseTo(1, 6);
    }
  });

  it("shows each supplier's earnings on its device: GPU-seconds, fee, and the net paid on chain", async () => {
    for (const [k, seconds] of [[0, 30], [1, 50], [2, 20]] as const) {
      const { status, body } = await get<DeviceDetail>(`/v1/devices/${payees[k]!.device}`);
      expect(status).toBe(200);
      expect(body.earnings).toMatchObject({ gpuSeconds: seconds, pendingIo: '0', paidIo: formatDecimal((await ledger.balances(payees[k]!.payout)).io) });
      expect(parseDecimal(body.earnings.grossIo) - parseDecimal(body.earnings.feeIo)).toBe(parseDecimal(body.earnings.paidIo));
    }
  });

  it('refuses bad paging with a coded 400', async () => {
    for (const q of ['limit=0', 'limit=101', 'limit=abc']) {
      const res = await get<{ error: { code: string } }>(`/v1/explorer/payouts?${q}`);
      expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
  });
});
