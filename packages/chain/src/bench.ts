import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock, type Address } from '@idlegrid/domain';
import { openEmbeddedLedger } from './embedded/index.ts';
import { MemoryIdempotencyStore } from './idempotency.ts';
import type { IdempotencyStore, Payout } from './ledger.ts';
import { signerFromSeed } from './wire.ts';

export interface SettlementBenchOptions {
  /** Payouts settled in the timed part (default 10,000). */
  readonly payouts?: number;
  /** Distinct recipients, paid round-robin (default min(payouts, 1,000)). */
  readonly recipients?: number;
  /** Payouts per payBatch call, i.e. per settlement interval (default 1,000). */
  readonly batchSize?: number;
  /** Save the chain to a data dir after every batch, as `idlegrid up` does (default true). */
  readonly persist?: boolean;
  /** Where each payment transaction is recorded before it is sent (default: in memory). */
  readonly idempotency?: IdempotencyStore;
}

export interface SettlementBenchResult {
  readonly payouts: number;
  readonly payouts_per_s: number;
  readonly tx_per_1000_payouts: number;
  readonly fee_lamports_per_payout: number;
  readonly transfers_per_tx: number;
  readonly ms_per_batch: number;
  /** One-off cost of a first payout to a wallet without an IO token account (rent + setup fee). */
  readonly new_recipient_lamports: number;
  readonly persist: boolean;
}

/**
 * Settles `payouts` payouts through the embedded ledger's payBatch (memo, treasury share and burn
 * in every batch, memo of the real `idlegrid:settle:<id>:<root>` length) and measures throughput,
 * transactions and fees. Recipients' token accounts are created in an untimed warm-up (steady
 * state); their one-off cost is reported separately.
 */
const newWallet = () => signerFromSeed(new Uint8Array(randomBytes(32)));

export async function benchSettlement(options: SettlementBenchOptions = {}): Promise<SettlementBenchResult> {
  const payouts = options.payouts ?? 10_000;
  const batchSize = options.batchSize ?? 1_000;
  const persist = options.persist ?? true;
  const nRecipients = Math.max(1, Math.min(options.recipients ?? 1_000, payouts));
  const dir = persist ? mkdtempSync(join(tmpdir(), 'idlegrid-chain-bench-')) : null;
  const clock = manualClock(1_750_000_000_000);
  const ledger = await openEmbeddedLedger({ dataDir: dir, clock, idempotency: options.idempotency ?? new MemoryIdempotencyStore() });
  try {
    const info = await ledger.bootstrap();
    const amount = 1_000n;
    const funds = BigInt(payouts + nRecipients) * amount * 2n + 10n ** 9n;
    const buyer = newWallet();
    await ledger.airdrop(buyer.address, { sol: 10n ** 9n, io: funds });
    await ledger.verifyDeposit(await ledger.buildDepositTransaction(buyer, 'IO', funds), { from: buyer.address, mint: 'IO' });
    const recipients: Address[] = Array.from({ length: nRecipients }, () => newWallet().address);
    const lamports = async () => (await ledger.balances(info.authority)).sol;

    // Warm-up: first payout to every recipient creates its token account.
    const beforeWarm = await lamports();
    await ledger.payBatch({ id: 'warm', memo: 'idlegrid:settle:warm', transfers: recipients.map((to) => ({ to, amount })), mint: 'IO' });
    const warmCost = beforeWarm - (await lamports());

    const before = await lamports();
    let txs = 0;
    let batches = 0;
    const started = performance.now();
    for (let done = 0; done < payouts; done += batchSize) {
      const n = Math.min(batchSize, payouts - done);
      const transfers: Payout[] = Array.from({ length: n }, (_, i) => ({ to: recipients[(done + i) % nRecipients]!, amount }));
      clock.advance(60_000);
      const id = `bench-${batches}`;
      const result = await ledger.payBatch({ id, memo: `idlegrid:settle:${id}:${'0'.repeat(64)}`, transfers, burn: 5n, treasury: 5n, mint: 'IO' });
      txs += result.signatures.length + result.setupSignatures.length;
      batches++;
    }
    const elapsed = (performance.now() - started) / 1000;
    const fees = before - (await lamports());
    return {
      payouts,
      payouts_per_s: Math.round(payouts / elapsed),
      tx_per_1000_payouts: Math.round((txs / payouts) * 1000 * 10) / 10,
      fee_lamports_per_payout: Math.round((Number(fees) / payouts) * 10) / 10,
      transfers_per_tx: Math.round((payouts / txs) * 100) / 100,
      ms_per_batch: Math.round((elapsed * 1000 * 10) / batches) / 10,
      new_recipient_lamports: Math.round(Number(warmCost) / nRecipients),
      persist,
    };
  } finally {
    await ledger.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
