import { describe, expect, it } from 'vitest';
import { manualClock } from '@idlegrid/domain';
import { isChainError, type ChainErrorCode } from '../errors.ts';
import { MemoryIdempotencyStore } from '../idempotency.ts';
import { newWallet, START_MS, tempDir } from '../test-helpers.ts';
import { openEmbeddedLedger, type EmbeddedLedger } from './index.ts';

const IO = 1_000_000n;

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

async function open(): Promise<{ ledger: EmbeddedLedger; store: MemoryIdempotencyStore; dir: string }> {
  const dir = tempDir();
  const store = new MemoryIdempotencyStore();
  const ledger = await openEmbeddedLedger({ dataDir: dir, clock: manualClock(START_MS), idempotency: store });
  await ledger.bootstrap();
  return { ledger, store, dir };
}

describe('embedded ledger: the stake vault', () => {
  it('takes a staker-signed transfer to the stake vault and refuses it as an escrow deposit (and the reverse)', async () => {
    const { ledger } = await open();
    const info = ledger.info();
    const staker = newWallet();
    await ledger.airdrop(staker.address, { sol: 10n ** 9n, io: 500n * IO });

    const toVault = await ledger.buildDepositTransaction(staker, 'IO', 200n * IO, 'stakeVault');
    expect(await refusal(ledger.verifyDeposit(toVault, { from: staker.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_WRONG_DESTINATION');
    const toEscrow = await ledger.buildDepositTransaction(staker, 'IO', 50n * IO);
    expect(await refusal(ledger.verifyDeposit(toEscrow, { from: staker.address, mint: 'IO', destination: 'stakeVault' }))).toBe('CHAIN_DEPOSIT_WRONG_DESTINATION');
    const usdcVault = await ledger.buildDepositTransaction(staker, 'USDC', 1n, 'stakeVault');
    expect(await refusal(ledger.verifyDeposit(usdcVault, { from: staker.address, mint: 'IO', destination: 'stakeVault' }))).toBe('CHAIN_DEPOSIT_WRONG_MINT');
    const other = newWallet();
    expect(await refusal(ledger.verifyDeposit(toVault, { from: other.address, mint: 'IO', destination: 'stakeVault' }))).toBe('CHAIN_DEPOSIT_WRONG_SOURCE');
    expect(await ledger.tokenAccountBalance(info.accounts.IO.stakeVault)).toBe(0n);

    const d = await ledger.verifyDeposit(toVault, { from: staker.address, mint: 'IO', destination: 'stakeVault' });
    expect(d.amount).toBe(200n * IO);
    expect(await ledger.tokenAccountBalance(info.accounts.IO.stakeVault)).toBe(200n * IO);
    expect(await ledger.tokenAccountBalance(info.accounts.IO.escrow)).toBe(0n);
    expect((await ledger.balances(staker.address)).io).toBe(300n * IO);
    expect(await refusal(ledger.verifyDeposit(toVault, { from: staker.address, mint: 'IO', destination: 'stakeVault' }))).toBe('CHAIN_DEPOSIT_REPLAY');
    await ledger.close();
  });

  it('pays out of the stake vault (transfer + burn), leaves escrow alone, and pays once across a crash', async () => {
    const { ledger, store, dir } = await open();
    const info = ledger.info();
    const staker = newWallet();
    const buyer = newWallet();
    await ledger.airdrop(staker.address, { sol: 10n ** 9n, io: 1_000n * IO });
    await ledger.verifyDeposit(await ledger.buildDepositTransaction(staker, 'IO', 1_000n * IO, 'stakeVault'), { from: staker.address, mint: 'IO', destination: 'stakeVault' });
    // Escrow holds something too, so a payment from the wrong account would show.
    await ledger.airdrop(buyer.address, { sol: 10n ** 9n, io: 10n * IO });
    await ledger.verifyDeposit(await ledger.buildDepositTransaction(buyer, 'IO', 10n * IO), { from: buyer.address, mint: 'IO' });

    const slash = { id: 'slash-1', memo: 'idlegrid:slash:slash-1', transfers: [{ to: buyer.address, amount: 25n * IO }], burn: 25n * IO, mint: 'IO', source: 'stakeVault' } as const;
    await ledger.close();
    const crashing = await openEmbeddedLedger({
      dataDir: dir, clock: manualClock(START_MS + 1000), idempotency: store,
      faults: { afterSend: () => { throw new Crash('after send'); } },
    });
    await expect(crashing.payBatch(slash)).rejects.toBeInstanceOf(Crash);
    await crashing.close();
    const again = await openEmbeddedLedger({ dataDir: dir, clock: manualClock(START_MS + 2000), idempotency: store });
    const result = await again.payBatch(slash);
    expect(result.recovered).toBe(1);
    expect(await again.payBatch(slash)).toMatchObject({ recovered: 1, signatures: result.signatures });
    expect(await again.tokenAccountBalance(info.accounts.IO.stakeVault)).toBe(950n * IO);
    expect(await again.tokenAccountBalance(info.accounts.IO.escrow)).toBe(10n * IO);
    expect((await again.balances(buyer.address)).io).toBe(25n * IO);
    expect(await again.supply('IO')).toBe(1_010n * IO - 25n * IO);
    expect((await again.conservation('IO')).ok).toBe(true);

    // The vault cannot pay more than it holds: refused before anything is sent.
    const tooMuch = { id: 'unstake-1', memo: 'idlegrid:unstake:1', transfers: [{ to: staker.address, amount: 951n * IO }], mint: 'IO', source: 'stakeVault' } as const;
    expect(await refusal(again.payBatch(tooMuch))).toBe('CHAIN_INSUFFICIENT_ESCROW');
    await again.payBatch({ ...tooMuch, transfers: [{ to: staker.address, amount: 950n * IO }] });
    expect(await again.tokenAccountBalance(info.accounts.IO.stakeVault)).toBe(0n);
    expect((await again.balances(staker.address)).io).toBe(950n * IO);
    await again.close();
  });
});
