import { cpSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { manualClock, type Address } from '@idlegrid/domain';
import { MAX_TRANSFERS_PER_TX } from '../core.ts';
import { isChainError, type ChainErrorCode } from '../errors.ts';
import { MemoryIdempotencyStore } from '../idempotency.ts';
import type { IdempotencyStore, PayBatch } from '../ledger.ts';
import { MAX_TRANSACTION_BYTES } from '../wire.ts';
import { newWallet, START_MS, tempDir } from '../test-helpers.ts';
import { openEmbeddedLedger, type EmbeddedLedger, type EmbeddedLedgerOptions } from './index.ts';

const IO = 1_000_000n;
const ESCROW_FUNDS = 10_000n * IO;

async function refusal(p: Promise<unknown>): Promise<ChainErrorCode> {
  try {
    await p;
  } catch (e) {
    if (isChainError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a refusal');
}

class Crash extends Error {}

/** A bootstrapped ledger whose IO escrow holds ESCROW_FUNDS from a buyer's deposit. */
async function fundedLedger(options: Partial<EmbeddedLedgerOptions> = {}): Promise<{ ledger: EmbeddedLedger; dir: string; store: MemoryIdempotencyStore }> {
  const dir = tempDir();
  const store = new MemoryIdempotencyStore();
  const ledger = await openEmbeddedLedger({ dataDir: dir, clock: manualClock(START_MS), idempotency: store, ...options });
  await ledger.bootstrap();
  const buyer = newWallet();
  await ledger.airdrop(buyer.address, { sol: 10n ** 9n, io: ESCROW_FUNDS });
  await ledger.verifyDeposit(await ledger.buildDepositTransaction(buyer, 'IO', ESCROW_FUNDS), { from: buyer.address, mint: 'IO' });
  return { ledger, dir, store };
}

function reopen(dir: string, idempotency: IdempotencyStore, faults?: EmbeddedLedgerOptions['faults']): Promise<EmbeddedLedger> {
  return openEmbeddedLedger({ dataDir: dir, clock: manualClock(START_MS + 60_000), idempotency, ...(faults ? { faults } : {}) });
}

function makeBatch(id: string, n: number): PayBatch {
  const transfers = Array.from({ length: n }, (_, i) => ({ to: newWallet().address, amount: 1_000n + BigInt(i) * 7n }));
  return { id, memo: `idlegrid:settle:${id}:${'ab'.repeat(32)}`, transfers, burn: 12_345n, treasury: 23_456n, mint: 'IO' };
}

async function ioOf(ledger: EmbeddedLedger, owners: readonly Address[]): Promise<bigint[]> {
  return Promise.all(owners.map(async (o) => (await ledger.balances(o)).io));
}

/** Checks every recipient got exactly its amount, escrow lost exactly the batch, supply fell by the burn. */
async function expectPaidOnce(ledger: EmbeddedLedger, batch: PayBatch): Promise<void> {
  const info = ledger.info();
  expect(await ioOf(ledger, batch.transfers.map((t) => t.to))).toEqual(batch.transfers.map((t) => t.amount));
  const total = batch.transfers.reduce((s, t) => s + t.amount, 0n) + (batch.burn ?? 0n) + (batch.treasury ?? 0n);
  expect(await ledger.tokenAccountBalance(info.accounts.IO.escrow)).toBe(ESCROW_FUNDS - total);
  expect(await ledger.tokenAccountBalance(info.accounts.IO.treasury)).toBe(batch.treasury ?? 0n);
  expect(await ledger.supply('IO')).toBe(ESCROW_FUNDS - (batch.burn ?? 0n));
  expect((await ledger.conservation('IO')).ok).toBe(true);
  expect(await ledger.findByMemo(batch.memo)).toHaveLength(3);
}

describe('embedded ledger: payment batches', () => {
  it('pays 45 transfers in 3 memo-carrying transactions, burns and feeds the treasury, conserving supply', async () => {
    const { ledger } = await fundedLedger();
    const batch = makeBatch('b45', 45);
    const result = await ledger.payBatch(batch);
    expect(result.signatures).toHaveLength(3);
    expect(result.recovered).toBe(0);
    expect(result.setupSignatures.length).toBeGreaterThan(0);
    const seen: Array<{ to: Address | null; amount: bigint }> = [];
    for (const [i, sig] of result.signatures.entries()) {
      const tx = await ledger.getTransaction(sig);
      expect(tx?.memo).toBe(batch.memo);
      expect(tx?.err).toBeNull();
      expect(tx?.transfers.length).toBeLessThanOrEqual(MAX_TRANSFERS_PER_TX + 1);
      const raw = await ledger.embedded.rawTransaction(sig);
      expect(raw?.wire.length).toBeLessThanOrEqual(MAX_TRANSACTION_BYTES);
      for (const t of tx?.transfers ?? []) {
        if (t.to === ledger.info().accounts.IO.treasury) expect(i).toBe(0);
        else seen.push({ to: t.toOwner, amount: t.amount });
      }
      if (i === 0) expect(tx?.burns).toEqual([{ account: ledger.info().accounts.IO.escrow, owner: ledger.info().authority, mint: 'IO', amount: 12_345n }]);
      else expect(tx?.burns).toEqual([]);
    }
    expect(seen).toEqual(batch.transfers.map((t) => ({ to: t.to, amount: t.amount })));
    await expectPaidOnce(ledger, batch);
    const c = await ledger.conservation('IO');
    expect(c).toMatchObject({ supply: ESCROW_FUNDS - 12_345n, minted: ESCROW_FUNDS, burned: 12_345n, accountsTotal: ESCROW_FUNDS - 12_345n, ok: true });
    // A second run of the same batch recognises everything and sends nothing.
    const txs = ledger.embedded.stats().transactions;
    const again = await ledger.payBatch(batch);
    expect(again.signatures).toEqual(result.signatures);
    expect(again.recovered).toBe(3);
    expect(ledger.embedded.stats().transactions).toBe(txs);
    await ledger.close();
  });

  it('refuses a batch the escrow cannot cover before sending anything, and a reused id with other content', async () => {
    const { ledger } = await fundedLedger();
    const txs = ledger.embedded.stats().transactions;
    const tooBig: PayBatch = { id: 'big', memo: 'idlegrid:settle:big:00', transfers: [{ to: newWallet().address, amount: ESCROW_FUNDS + 1n }], mint: 'IO' };
    expect(await refusal(ledger.payBatch(tooBig))).toBe('CHAIN_INSUFFICIENT_ESCROW');
    expect(ledger.embedded.stats().transactions).toBe(txs);
    const batch = makeBatch('reuse', 5);
    await ledger.payBatch(batch);
    const changed = { ...batch, transfers: batch.transfers.map((t, i) => (i === 0 ? { ...t, amount: t.amount + 1n } : t)) };
    expect(await refusal(ledger.payBatch(changed))).toBe('CHAIN_BATCH_CONFLICT');
    expect(await refusal(ledger.payBatch({ ...batch, id: 'neg', transfers: [{ to: newWallet().address, amount: 0n }] }))).toBe('CHAIN_INVALID_BATCH');
    await ledger.close();
  });

  it('crash after recording, before sending: the re-run sends the recorded bytes once and finishes', async () => {
    const { ledger, dir, store } = await fundedLedger({
      faults: {
        afterRecord: (key) => {
          if (key.endsWith(':1')) throw new Crash('killed after record');
        },
      },
    });
    const batch = makeBatch('crash-record', 45);
    await expect(ledger.payBatch(batch)).rejects.toBeInstanceOf(Crash);
    const recorded = await store.get(`pay:${batch.id}:1`);
    expect(recorded).toBeDefined();
    expect(await ledger.embedded.status(recorded?.signature ?? '')).toBeNull();
    // chunk 0 was paid, chunk 1 recorded but never sent, chunk 2 untouched.
    const paid = await ioOf(ledger, batch.transfers.map((t) => t.to));
    expect(paid.filter((x) => x > 0n).length).toBeGreaterThan(0);
    expect(paid.filter((x) => x === 0n).length).toBeGreaterThan(0);
    await ledger.close();

    const restarted = await reopen(dir, store);
    const result = await restarted.payBatch(batch);
    expect(result.recovered).toBe(1);
    expect(result.signatures[1]).toBe(recorded?.signature);
    await expectPaidOnce(restarted, batch);
    await restarted.close();
  });

  it('crash after sending, before the caller saw the result: the re-run recognises what landed', async () => {
    const { ledger, dir, store } = await fundedLedger({
      faults: {
        afterSend: (key) => {
          if (key.endsWith(':1')) throw new Crash('killed after send');
        },
      },
    });
    const batch = makeBatch('crash-send', 45);
    await expect(ledger.payBatch(batch)).rejects.toBeInstanceOf(Crash);
    await ledger.close();
    const restarted = await reopen(dir, store);
    const result = await restarted.payBatch(batch);
    expect(result.recovered).toBe(2);
    await expectPaidOnce(restarted, batch);
    await restarted.close();
  });

  it('crash after sending, before the chain state was saved: the recorded transactions are sent again, once', async () => {
    const { ledger, dir, store } = await fundedLedger();
    const batch = makeBatch('rollback', 45);
    await ledger.close();
    const before = tempDir();
    cpSync(dir, before, { recursive: true });
    const first = await reopen(dir, store);
    const sent = await first.payBatch(batch);
    await first.close();
    // The process died before its snapshot reached the disk: the chain is as it was before the batch,
    // while the caller's store kept the records.
    rmSync(dir, { recursive: true });
    cpSync(before, dir, { recursive: true });
    const restarted = await reopen(dir, store);
    expect((await restarted.balances(batch.transfers[0]?.to ?? ('' as Address))).io).toBe(0n);
    const result = await restarted.payBatch(batch);
    expect(result.signatures).toEqual(sent.signatures);
    expect(result.recovered).toBe(0);
    await expectPaidOnce(restarted, batch);
    await restarted.close();
  });

  it('records lost after sending: the re-run finds the landed transactions by memo and pays nothing twice', async () => {
    const { ledger, dir } = await fundedLedger();
    const batch = makeBatch('lost', 45);
    const sent = await ledger.payBatch(batch);
    await ledger.close();
    const restarted = await reopen(dir, new MemoryIdempotencyStore());
    const txs = restarted.embedded.stats().transactions;
    const result = await restarted.payBatch(batch);
    expect(result.recovered).toBe(3);
    expect(result.signatures).toEqual(sent.signatures);
    expect(restarted.embedded.stats().transactions).toBe(txs);
    await expectPaidOnce(restarted, batch);
    await restarted.close();
  });

  it('recorded but never sent, then the blockhash expired: the chunk is rebuilt (the old one can never land)', async () => {
    const { ledger, dir, store } = await fundedLedger({
      faults: {
        afterRecord: (key) => {
          if (key.endsWith(':2')) throw new Crash('killed after record');
        },
      },
    });
    const batch = makeBatch('expired', 45);
    await expect(ledger.payBatch(batch)).rejects.toBeInstanceOf(Crash);
    const stale = await store.get(`pay:${batch.id}:2`);
    ledger.embedded.expireBlockhash();
    await ledger.close();
    const restarted = await reopen(dir, store);
    const result = await restarted.payBatch(batch);
    expect(result.recovered).toBe(2);
    expect(result.signatures[2]).not.toBe(stale?.signature);
    expect(await restarted.embedded.status(stale?.signature ?? '')).toBeNull();
    await expectPaidOnce(restarted, batch);
    await restarted.close();
  });
});

describe('embedded ledger: mintTo batches', () => {
  it('mints to many wallets idempotently and keeps supply == minted − burned == Σ balances', async () => {
    const dir = tempDir();
    const ledger = await openEmbeddedLedger({ dataDir: dir, clock: manualClock(START_MS), idempotency: new MemoryIdempotencyStore() });
    await ledger.bootstrap();
    const mints = Array.from({ length: 30 }, (_, i) => ({ to: newWallet().address, amount: 100n * IO + BigInt(i) }));
    const batch = { id: 'epoch-1', memo: 'idlegrid:emit:epoch-1:' + 'cd'.repeat(32), mints, mint: 'IO' as const };
    const result = await ledger.mintTo(batch);
    expect(result.signatures.length).toBe(2);
    const total = mints.reduce((s, m) => s + m.amount, 0n);
    expect(await ledger.supply('IO')).toBe(total);
    const again = await ledger.mintTo(batch);
    expect(again.recovered).toBe(2);
    expect(await ledger.supply('IO')).toBe(total);
    expect(await ioOf(ledger, mints.map((m) => m.to))).toEqual(mints.map((m) => m.amount));
    expect((await ledger.getTransaction(result.signatures[0] ?? ''))?.mints.length).toBeGreaterThan(0);
    expect(await ledger.conservation('IO')).toMatchObject({ supply: total, minted: total, burned: 0n, accountsTotal: total, ok: true });
    await ledger.close();
  });

  it('mints the treasury share into the treasury account in the same batch, once', async () => {
    const dir = tempDir();
    const ledger = await openEmbeddedLedger({ dataDir: dir, clock: manualClock(START_MS), idempotency: new MemoryIdempotencyStore() });
    const info = await ledger.bootstrap();
    const to = newWallet().address;
    const batch = { id: 'epoch-2', memo: 'idlegrid:epoch:2:' + 'ab'.repeat(32), mints: [{ to, amount: 7n * IO }], treasury: 3n, mint: 'IO' as const };
    await ledger.mintTo(batch);
    await ledger.mintTo(batch);
    expect(await ledger.tokenAccountBalance(info.accounts.IO.treasury)).toBe(3n);
    expect(await ioOf(ledger, [to])).toEqual([7n * IO]);
    expect(await ledger.conservation('IO')).toMatchObject({ supply: 7n * IO + 3n, ok: true });
    await expect(ledger.mintTo({ ...batch, id: 'epoch-3', mints: [], treasury: 0n })).rejects.toMatchObject({ code: 'CHAIN_INVALID_BATCH' });
    await ledger.close();
  });
});
