import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { base58Decode, manualClock, type Address } from '@idlegrid/domain';
import { isChainError, type ChainErrorCode } from '../errors.ts';
import { associatedTokenAddress, buildSigned, burnIx, memoIx, parseMintSupply, transferCheckedIx, transferIx, TOKEN_PROGRAM } from '../programs.ts';
import { freshLedger, newWallet, START_MS } from '../test-helpers.ts';
import { decodeBase64Transaction, encodeWire, toBase64, type ChainSigner } from '../wire.ts';
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

describe('embedded ledger: bootstrap and airdrop', () => {
  it('bootstraps idempotently: mints with 6 decimals and the authority as mint authority, accounts owned by it', async () => {
    const { ledger } = await freshLedger();
    const info = ledger.info();
    const txsAfterFirst = ledger.embedded.stats().transactions;
    expect(await ledger.bootstrap()).toEqual(info);
    expect(ledger.embedded.stats().transactions).toBe(txsAfterFirst);
    for (const sym of ['IO', 'USDC'] as const) {
      const mint = await ledger.embedded.account(info.mints[sym]);
      expect(mint?.owner).toBe(TOKEN_PROGRAM);
      expect(mint && parseMintSupply(mint.data)).toBe(0n);
      expect(mint?.data[44]).toBe(6); // decimals
      expect(mint && Buffer.from(mint.data.subarray(4, 36)).equals(Buffer.from(base58Decode(info.authority) ?? []))).toBe(true);
      const { escrow, treasury, stakeVault } = info.accounts[sym];
      const accounts = [escrow, treasury, stakeVault];
      expect(new Set(accounts).size).toBe(3);
      for (const addr of accounts) expect(await ledger.tokenAccountBalance(addr)).toBe(0n);
    }
    expect(new Set([info.mints.IO, info.mints.USDC, ...(['IO', 'USDC'] as const).flatMap((m) => [info.accounts[m].escrow, info.accounts[m].treasury, info.accounts[m].stakeVault])]).size).toBe(8);
    expect((await ledger.balances(info.authority)).sol).toBeGreaterThan(1000n * 1_000_000_000n);
    await ledger.close();
  });

  it('airdrops SOL, IO and USDC to a wallet (twice the same amounts is not a duplicate)', async () => {
    const { ledger } = await freshLedger();
    const w = newWallet();
    expect(await ledger.balances(w.address)).toEqual({ sol: 0n, io: 0n, usdc: 0n });
    await ledger.airdrop(w.address, { sol: 2_000_000_000n, io: 50n * IO, usdc: 7n * IO });
    await ledger.airdrop(w.address, { sol: 2_000_000_000n, io: 50n * IO, usdc: 7n * IO });
    expect(await ledger.balances(w.address)).toEqual({ sol: 4_000_000_000n, io: 100n * IO, usdc: 14n * IO });
    expect(await ledger.supply('IO')).toBe(100n * IO);
    const c = await ledger.conservation('IO');
    expect(c).toMatchObject({ supply: 100n * IO, accountsTotal: 100n * IO, minted: 100n * IO, burned: 0n, ok: true });
    await ledger.close();
  });
});

describe('embedded ledger: deposits', () => {
  async function setup(): Promise<{ ledger: EmbeddedLedger; buyer: ChainSigner }> {
    const { ledger } = await freshLedger();
    const buyer = newWallet();
    await ledger.airdrop(buyer.address, { sol: 1_000_000_000n, io: 100n * IO, usdc: 100n * IO });
    return { ledger, buyer };
  }

  async function snapshot(ledger: EmbeddedLedger, buyer: Address): Promise<unknown> {
    const info = ledger.info();
    return {
      buyer: await ledger.balances(buyer),
      escrowIo: await ledger.tokenAccountBalance(info.accounts.IO.escrow),
      escrowUsdc: await ledger.tokenAccountBalance(info.accounts.USDC.escrow),
    };
  }

  it('accepts a buyer-signed transfer to escrow and moves exactly that amount', async () => {
    const { ledger, buyer } = await setup();
    const info = ledger.info();
    const tx = await ledger.buildDepositTransaction(buyer, 'IO', 30n * IO);
    const d = await ledger.verifyDeposit(tx, { from: buyer.address, mint: 'IO', minAmount: 10n * IO });
    expect(d).toMatchObject({ amount: 30n * IO, mint: 'IO', from: buyer.address });
    expect(d.signature).toBe(decodeBase64Transaction(tx).signature);
    expect((await ledger.balances(buyer.address)).io).toBe(70n * IO);
    expect(await ledger.tokenAccountBalance(info.accounts.IO.escrow)).toBe(30n * IO);
    const onChain = await ledger.getTransaction(d.signature);
    expect(onChain?.transfers).toEqual([
      { from: await associatedTokenAddress(buyer.address, info.mints.IO), to: info.accounts.IO.escrow, fromOwner: buyer.address, toOwner: info.authority, mint: 'IO', amount: 30n * IO },
    ]);
    // The same amount again is a new deposit (its memo nonce makes it a different transaction).
    const again = await ledger.buildDepositTransaction(buyer, 'IO', 30n * IO);
    await ledger.verifyDeposit(again, { from: buyer.address, mint: 'IO' });
    expect(await ledger.tokenAccountBalance(info.accounts.IO.escrow)).toBe(60n * IO);
    // USDC deposits go to the USDC escrow.
    const usdc = await ledger.verifyDeposit(await ledger.buildDepositTransaction(buyer, 'USDC', 5n * IO), { from: buyer.address, mint: 'USDC' });
    expect(usdc.mint).toBe('USDC');
    expect(await ledger.tokenAccountBalance(info.accounts.USDC.escrow)).toBe(5n * IO);
    await ledger.close();
  });

  it('refuses a transfer that does not go to escrow, with no balance change', async () => {
    const { ledger, buyer } = await setup();
    const info = ledger.info();
    const before = await snapshot(ledger, buyer.address);
    const source = await associatedTokenAddress(buyer.address, info.mints.IO);
    const { blockhash, lastValidBlockHeight } = await ledger.embedded.lifetime();
    const toTreasury = buildSigned(buyer, [transferIx(source, info.accounts.IO.treasury, buyer.address, IO)], { blockhash, lastValidBlockHeight });
    expect(await refusal(ledger.verifyDeposit(toBase64(toTreasury.wire), { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_WRONG_DESTINATION');
    const friend = newWallet();
    await ledger.airdrop(friend.address, { io: 1n });
    const toFriend = buildSigned(buyer, [transferIx(source, await associatedTokenAddress(friend.address, info.mints.IO), buyer.address, IO)], { blockhash, lastValidBlockHeight });
    expect(await refusal(ledger.verifyDeposit(toBase64(toFriend.wire), { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_WRONG_DESTINATION');
    expect(await snapshot(ledger, buyer.address)).toEqual(before);
    await ledger.close();
  });

  it('refuses a deposit of the other mint', async () => {
    const { ledger, buyer } = await setup();
    const before = await snapshot(ledger, buyer.address);
    const usdcTx = await ledger.buildDepositTransaction(buyer, 'USDC', IO);
    expect(await refusal(ledger.verifyDeposit(usdcTx, { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_WRONG_MINT');
    // An unchecked transfer from the USDC account into the IO escrow names no mint: caught by its source.
    const info = ledger.info();
    const lifetime = await ledger.embedded.lifetime();
    const usdcSource = await associatedTokenAddress(buyer.address, info.mints.USDC);
    const crossed = buildSigned(buyer, [transferIx(usdcSource, info.accounts.IO.escrow, buyer.address, IO)], lifetime);
    expect(await refusal(ledger.verifyDeposit(toBase64(crossed.wire), { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_WRONG_MINT');
    // A checked transfer naming the USDC mint but paying the IO escrow.
    const ioSource = await associatedTokenAddress(buyer.address, info.mints.IO);
    const named = buildSigned(buyer, [transferCheckedIx(ioSource, info.mints.USDC, info.accounts.IO.escrow, buyer.address, IO)], lifetime);
    expect(await refusal(ledger.verifyDeposit(toBase64(named.wire), { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_WRONG_MINT');
    expect(await snapshot(ledger, buyer.address)).toEqual(before);
    await ledger.close();
  });

  it('refuses a transfer signed by someone else, or with a forged signature', async () => {
    const { ledger, buyer } = await setup();
    const before = await snapshot(ledger, buyer.address);
    const mallory = newWallet();
    await ledger.airdrop(mallory.address, { sol: 1_000_000_000n, io: 10n * IO });
    // Mallory pays from her own account but claims to be the buyer.
    const hers = await ledger.buildDepositTransaction(mallory, 'IO', IO);
    expect(await refusal(ledger.verifyDeposit(hers, { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_WRONG_SOURCE');
    // Mallory signs a transfer out of the buyer's account (she is fee payer and authority).
    const info = ledger.info();
    const lifetime = await ledger.embedded.lifetime();
    const source = await associatedTokenAddress(buyer.address, info.mints.IO);
    const stolen = buildSigned(mallory, [transferIx(source, info.accounts.IO.escrow, mallory.address, IO)], lifetime);
    expect(await refusal(ledger.verifyDeposit(toBase64(stolen.wire), { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_WRONG_SIGNER');
    // The buyer's transaction with Mallory's signature bytes in place of the buyer's.
    const good = decodeBase64Transaction(await ledger.buildDepositTransaction(buyer, 'IO', IO));
    const forged = encodeWire([new Uint8Array(64).fill(7)], good.messageBytes);
    expect(await refusal(ledger.verifyDeposit(toBase64(forged), { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_WRONG_SIGNER');
    expect(await snapshot(ledger, buyer.address)).toEqual(before);
    await ledger.close();
  });

  it('refuses a replay, malformed input, extra instructions and too-small amounts', async () => {
    const { ledger, buyer } = await setup();
    const tx = await ledger.buildDepositTransaction(buyer, 'IO', 3n * IO);
    await ledger.verifyDeposit(tx, { from: buyer.address, mint: 'IO' });
    const after = await snapshot(ledger, buyer.address);
    expect(await refusal(ledger.verifyDeposit(tx, { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_REPLAY');
    expect(await refusal(ledger.verifyDeposit('not base64!', { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_MALFORMED');
    expect(await refusal(ledger.verifyDeposit(toBase64(new Uint8Array([1, 2, 3])), { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_MALFORMED');
    const info = ledger.info();
    const source = await associatedTokenAddress(buyer.address, info.mints.IO);
    const lifetime = await ledger.embedded.lifetime();
    const withBurn = buildSigned(buyer, [transferIx(source, info.accounts.IO.escrow, buyer.address, IO), burnIx(source, info.mints.IO, buyer.address, IO)], lifetime);
    expect(await refusal(ledger.verifyDeposit(toBase64(withBurn.wire), { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_MALFORMED');
    const memoOnly = buildSigned(buyer, [memoIx('hello')], lifetime);
    expect(await refusal(ledger.verifyDeposit(toBase64(memoOnly.wire), { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_MALFORMED');
    const small = await ledger.buildDepositTransaction(buyer, 'IO', 1n);
    expect(await refusal(ledger.verifyDeposit(small, { from: buyer.address, mint: 'IO', minAmount: 2n }))).toBe('CHAIN_DEPOSIT_TOO_SMALL');
    expect(await snapshot(ledger, buyer.address)).toEqual(after);
    await ledger.close();
  });

  it('reports a deposit the buyer cannot cover as failed; its fee is charged and it cannot be replayed', async () => {
    const { ledger, buyer } = await setup();
    const tx = await ledger.buildDepositTransaction(buyer, 'IO', 1000n * IO);
    expect(await refusal(ledger.verifyDeposit(tx, { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_FAILED');
    const b = await ledger.balances(buyer.address);
    expect(b.io).toBe(100n * IO);
    expect(b.sol).toBe(1_000_000_000n - 5000n);
    expect(await refusal(ledger.verifyDeposit(tx, { from: buyer.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_REPLAY');
    await ledger.close();
  });
});

describe('embedded ledger: anchors, clock, persistence', () => {
  it('anchors a memo and reads it back with slot and time from the injected clock', async () => {
    const { ledger, dir } = await freshLedger();
    const memo = 'idlegrid:lease:lse_abc:' + 'f'.repeat(64);
    const sig = await ledger.anchor(memo);
    const tx = await ledger.getTransaction(sig);
    expect(tx).toMatchObject({ signature: sig, memo, transfers: [], burns: [], mints: [], err: null, signers: [ledger.info().authority] });
    expect(tx?.blockTime).toBe(Math.floor(START_MS / 1000));
    expect(await ledger.findByMemo(memo)).toEqual([sig]);
    expect(await ledger.getTransaction('1111111111111111111111111111111111111111111111111111111111111111')).toBeNull();
    await ledger.close();
    // A later anchor after the clock moved 10 s lands 25 slots (400 ms each) later.
    const clock = manualClock(START_MS + 10_000);
    const reopened = await openEmbeddedLedger({ dataDir: dir, clock });
    const later = await reopened.getTransaction(await reopened.anchor('idlegrid:lease:lse_abc:end'));
    expect(later?.slot).toBe((tx?.slot ?? 0n) + 25n);
    expect(later?.blockTime).toBe(Math.floor(START_MS / 1000) + 10);
    await reopened.close();
  });

  it('reopening the data dir keeps balances, history, supply and the authority; new transactions still land', async () => {
    const { ledger, dir } = await freshLedger();
    const info = ledger.info();
    const w = newWallet();
    await ledger.airdrop(w.address, { sol: 10n ** 9n, io: 40n * IO });
    const dep = await ledger.verifyDeposit(await ledger.buildDepositTransaction(w, 'IO', 15n * IO), { from: w.address, mint: 'IO' });
    const anchorSig = await ledger.anchor('idlegrid:lease:persist:1');
    const balances = await ledger.balances(w.address);
    await ledger.close();

    // A crash between the journal append and the snapshot rename leaves extra journal lines: cut on open.
    appendFileSync(join(dir, 'chain.journal'), '{"s":"x","t":"AA==","slot":"1","time":0,"err":null}\n');
    const again = await openEmbeddedLedger({ dataDir: dir });
    expect(again.info()).toEqual(info);
    expect(await again.balances(w.address)).toEqual(balances);
    expect(await again.tokenAccountBalance(info.accounts.IO.escrow)).toBe(15n * IO);
    expect((await again.getTransaction(anchorSig))?.memo).toBe('idlegrid:lease:persist:1');
    expect((await again.getTransaction(dep.signature))?.transfers[0]?.amount).toBe(15n * IO);
    expect(await again.conservation('IO')).toMatchObject({ supply: 40n * IO, minted: 40n * IO, ok: true });
    const before = again.embedded.stats().transactions;
    await again.bootstrap();
    expect(again.embedded.stats().transactions).toBe(before);
    const dep2 = await again.buildDepositTransaction(w, 'IO', 5n * IO);
    await again.verifyDeposit(dep2, { from: w.address, mint: 'IO' });
    expect(await refusal(again.verifyDeposit(await wireOf(dep.signature, again), { from: w.address, mint: 'IO' }))).toBe('CHAIN_DEPOSIT_REPLAY');
    expect((await again.balances(w.address)).io).toBe(20n * IO);
    await again.close();
  });

  it('refuses airdrops on an RPC ledger without touching the network', async () => {
    const { openRpcLedger } = await import('../rpc/index.ts');
    const rpc = await openRpcLedger({ url: 'http://127.0.0.1:9', authority: newWallet() });
    expect(await refusal(rpc.airdrop(newWallet().address, { sol: 1n }))).toBe('CHAIN_AIRDROP_UNAVAILABLE');
    expect(rpc.info().backend).toBe('rpc');
  });
});

/** The wire bytes of a landed transaction, to send it again. */
async function wireOf(signature: string, ledger: EmbeddedLedger): Promise<string> {
  const raw = await ledger.embedded.rawTransaction(signature);
  if (!raw) throw new Error('not found');
  return toBase64(raw.wire);
}
