import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, seededRandom, type Address } from '@idlegrid/domain';
import { buildDepositTransfer, openEmbeddedLedger, type EmbeddedLedger } from '@idlegrid/chain';
import type { Keypair } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig } from '../config.ts';
import { apiCaller, loginWallet, type ApiBody } from '../testing/api-client.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';

type Body = ApiBody;
interface WalletView { balances: { sol: string; io: string; usdc: string }; escrow: { io: string }; deposits: Array<Record<string, unknown>> }

const clock = manualClock(1_750_000_000_000);
let dir: string;
let store: Store;
let ledger: EmbeddedLedger;
let cloud: CloudApp;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'idlegrid-wallet-api-'));
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  ledger = await openEmbeddedLedger({ dataDir: join(dir, 'chain'), clock });
  await ledger.bootstrap();
  cloud = createCloudApp({
    config: loadCloudConfig({}, { dataDir: dir }),
    store, clock, random: seededRandom(5), logger: pino({ level: 'silent' }), inspector: new FakeInspector(), ledger,
  });
});

afterAll(async () => {
  await store.close();
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = apiCaller(() => cloud);

const login = (): Promise<{ key: string; wallet: Keypair }> => loginWallet(call);

async function view(key: string): Promise<WalletView> {
  const res = await call('GET', '/v1/wallet', { key });
  expect(res.status).toBe(200);
  return res.body as unknown as WalletView;
}

/** A funded buyer: 1 SOL, 100 IO, 100 USDC. */
async function fundedBuyer(): Promise<{ key: string; wallet: Keypair }> {
  const buyer = await login();
  const res = await call('POST', '/v1/wallet/airdrop', { key: buyer.key, body: { sol: '1', io: '100', usdc: '100' } });
  expect(res.status).toBe(200);
  expect((res.body as unknown as WalletView).balances).toEqual({ sol: '1', io: '100', usdc: '100' });
  return buyer;
}

async function escrowTotals(): Promise<[bigint, bigint]> {
  const info = ledger.info();
  return [await ledger.tokenAccountBalance(info.accounts.IO.escrow), await ledger.tokenAccountBalance(info.accounts.USDC.escrow)];
}

describe('wallet API over an embedded ledger', () => {
  it('needs an API key, and publishes the chain (mints, escrow, blockhash, conversion terms)', async () => {
    expect((await call('GET', '/v1/wallet')).body.error.code).toBe('UNAUTHORIZED');
    expect((await call('POST', '/v1/wallet/airdrop', { body: {} })).status).toBe(401);
    const chain = await call('GET', '/v1/chain');
    expect(chain.status).toBe(200);
    expect(chain.body).toMatchObject({
      network: 'embedded', decimals: 6, ioUsdReferencePrice: '1.00', usdcConversionFeeBps: 200,
      mints: ledger.info().mints, escrow: { IO: ledger.info().accounts.IO.escrow, USDC: ledger.info().accounts.USDC.escrow },
    });
    expect(typeof chain.body['recentBlockhash']).toBe('string');
  });

  it('airdrops bounded amounts and refuses more', async () => {
    const buyer = await login();
    expect((await view(buyer.key)).balances).toEqual({ sol: '0', io: '0', usdc: '0' });
    const tooMuch = await call('POST', '/v1/wallet/airdrop', { key: buyer.key, body: { io: '100001' } });
    expect(tooMuch).toMatchObject({ status: 400, body: { error: { code: 'INVALID_AMOUNT' } } });
    const bad = await call('POST', '/v1/wallet/airdrop', { key: buyer.key, body: { sol: '-1' } });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    const ok = await call('POST', '/v1/wallet/airdrop', { key: buyer.key, body: {} });
    expect((ok.body as unknown as WalletView).balances).toEqual({ sol: '1', io: '1000', usdc: '1000' });
    expect((ok.body as unknown as WalletView).escrow).toEqual({ io: '0' });
  });

  it('credits an IO deposit 1:1 and a USDC deposit at the reference price minus 200 bps', async () => {
    const buyer = await fundedBuyer();
    const [io0, usdc0] = await escrowTotals();
    const tx = await ledger.buildDepositTransaction(buyer.wallet, 'IO', 12_500_000n);
    const io = await call('POST', '/v1/wallet/deposits', { key: buyer.key, body: { transaction: tx, token: 'IO' } });
    expect(io.status).toBe(201);
    expect(io.body).toMatchObject({ deposit: { token: 'IO', amountPaid: '12.5', ioCredited: '12.5', fee: '0', wallet: buyer.wallet.address }, escrow: { io: '12.5' } });

    clock.advance(1000);
    // Built the way the CLI does: from GET /v1/chain, without a ledger.
    const chain = (await call('GET', '/v1/chain')).body as unknown as { mints: { USDC: Address }; escrow: { USDC: Address }; recentBlockhash: string; lastValidBlockHeight: string };
    const usdcTx = await buildDepositTransfer(buyer.wallet, {
      mint: chain.mints.USDC, escrow: chain.escrow.USDC, amount: 10_000_000n,
      lifetime: { blockhash: chain.recentBlockhash, lastValidBlockHeight: BigInt(chain.lastValidBlockHeight) },
    });
    const usdc = await call('POST', '/v1/wallet/deposits', { key: buyer.key, body: { transaction: usdcTx, token: 'USDC' } });
    expect(usdc.status).toBe(201);
    expect(usdc.body).toMatchObject({ deposit: { token: 'USDC', amountPaid: '10', ioCredited: '9.8', fee: '0.2' }, escrow: { io: '22.3' } });

    const after = await view(buyer.key);
    expect(after.balances).toEqual({ sol: expect.any(String) as string, io: '87.5', usdc: '90' });
    expect(after.escrow).toEqual({ io: '22.3' });
    expect(after.deposits.map((d) => d['token'])).toEqual(['USDC', 'IO']);
    // The USDC moved on to treasury and the 9.8 IO credit was minted into escrow: escrow backs every credit.
    expect(await escrowTotals()).toEqual([io0 + 22_300_000n, usdc0]);
    expect(await ledger.tokenAccountBalance(ledger.info().accounts.USDC.treasury)).toBe(10_000_000n);
    expect(await store.wallets.conversionOf((usdc.body as unknown as { deposit: { signature: string } }).deposit.signature)).not.toBeNull();
    expect(await store.wallets.balance(buyer.wallet.address)).toBe(22_300_000n);
  });

  it('refuses a deposit to another account, of another mint, signed by someone else, or replayed — changing nothing', async () => {
    const buyer = await fundedBuyer();
    const other = await fundedBuyer();
    const first = await ledger.buildDepositTransaction(buyer.wallet, 'IO', 5_000_000n);
    expect((await call('POST', '/v1/wallet/deposits', { key: buyer.key, body: { transaction: first } })).status).toBe(201);
    const before = { buyer: await view(buyer.key), other: await view(other.key), escrow: await escrowTotals() };

    const info = ledger.info();
    const lifetime = await ledger.recentBlockhash();
    const cases: Array<[string, string, 'IO' | 'USDC', string, number]> = [
      // pays the protocol treasury instead of escrow
      ['wrong destination', await buildDepositTransfer(buyer.wallet, { mint: info.mints.IO, escrow: info.accounts.IO.treasury, amount: 1_000_000n, lifetime }), 'IO', 'CHAIN_DEPOSIT_WRONG_DESTINATION', 400],
      ['other mint', await ledger.buildDepositTransaction(buyer.wallet, 'USDC', 1_000_000n), 'IO', 'CHAIN_DEPOSIT_WRONG_MINT', 400],
      // another wallet's signed transfer: it spends that wallet's account, not the caller's
      ['signed by someone else', await ledger.buildDepositTransaction(other.wallet, 'IO', 1_000_000n), 'IO', 'CHAIN_DEPOSIT_WRONG_SOURCE', 400],
      ['replay', first, 'IO', 'CHAIN_DEPOSIT_REPLAY', 409],
      ['garbage', Buffer.from('not a transaction').toString('base64'), 'IO', 'CHAIN_DEPOSIT_MALFORMED', 400],
    ];
    for (const [what, transaction, token, code, status] of cases) {
      const res = await call('POST', '/v1/wallet/deposits', { key: buyer.key, body: { transaction, token } });
      expect({ what, status: res.status, code: res.body.error.code }).toEqual({ what, status, code });
    }
    expect((await call('POST', '/v1/wallet/deposits', { key: buyer.key, body: { transaction: '***' } })).body.error.code).toBe('VALIDATION_FAILED');

    expect(await view(buyer.key)).toEqual(before.buyer);
    expect(await view(other.key)).toEqual(before.other);
    expect(await escrowTotals()).toEqual(before.escrow);
    expect(await store.wallets.deposits(buyer.wallet.address)).toHaveLength(1);
    expect(await store.wallets.deposits(other.wallet.address)).toHaveLength(0);
    expect((await ledger.conservation('IO')).ok).toBe(true);
  });

  it('credits, exactly once, a deposit that landed on chain before a crash kept it off the books', async () => {
    const buyer = await fundedBuyer();
    const tx = await ledger.buildDepositTransaction(buyer.wallet, 'IO', 3_000_000n);
    // The control plane relayed it, then died before crediting: the chain has it, the store does not.
    await ledger.verifyDeposit(tx, { from: buyer.wallet.address, mint: 'IO' });
    expect(await store.wallets.balance(buyer.wallet.address)).toBe(0n);
    const resubmitted = await call('POST', '/v1/wallet/deposits', { key: buyer.key, body: { transaction: tx } });
    expect(resubmitted.status).toBe(201);
    expect(resubmitted.body).toMatchObject({ escrow: { io: '3' } });
    const again = await call('POST', '/v1/wallet/deposits', { key: buyer.key, body: { transaction: tx } });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'CHAIN_DEPOSIT_REPLAY' } } });
    expect(await store.wallets.balance(buyer.wallet.address)).toBe(3_000_000n);
    // Someone else resubmitting it gets nothing: the transfer is not from their account.
    const other = await login();
    const stolen = await call('POST', '/v1/wallet/deposits', { key: other.key, body: { transaction: tx } });
    expect(stolen.body.error.code).toBe('CHAIN_DEPOSIT_WRONG_SOURCE');
  });

  it('withdraws unreserved escrow back to the wallet on chain, and refuses more than the balance or nonsense', async () => {
    const buyer = await fundedBuyer();
    const tx = await ledger.buildDepositTransaction(buyer.wallet, 'IO', 10_000_000n);
    expect((await call('POST', '/v1/wallet/deposits', { key: buyer.key, body: { transaction: tx } })).status).toBe(201);
    const [escrowBefore] = await escrowTotals();
    const tooMuch = await call('POST', '/v1/wallet/withdrawals', { key: buyer.key, body: { amount: '10.5' } });
    expect(tooMuch).toMatchObject({ status: 402, body: { error: { code: 'INSUFFICIENT_ESCROW', details: { available: '10', missing: '0.5' } } } });
    for (const [body, code] of [[{ amount: '0' }, 'INVALID_AMOUNT'], [{ amount: '-1' }, 'VALIDATION_FAILED'], [{}, 'VALIDATION_FAILED']] as const) {
      const res = await call('POST', '/v1/wallet/withdrawals', { key: buyer.key, body });
      expect([res.status, res.body.error.code]).toEqual([400, code]);
    }
    expect((await call('POST', '/v1/wallet/withdrawals', { body: { amount: '1' } })).status).toBe(401);
    const ok = await call('POST', '/v1/wallet/withdrawals', { key: buyer.key, body: { amount: '2.5' } });
    expect(ok).toMatchObject({ status: 201, body: { withdrawal: { amountIo: '2.5', wallet: buyer.wallet.address }, escrow: { io: '7.5' } } });
    const signature = (ok.body as unknown as { withdrawal: { signature: string } }).withdrawal.signature;
    expect((await ledger.getTransaction(signature))?.transfers).toEqual([expect.objectContaining({ toOwner: buyer.wallet.address, amount: 2_500_000n, mint: 'IO' })]);
    expect((await view(buyer.key)).balances.io).toBe('92.5'); // 100 airdropped − 10 deposited + 2.5 back
    expect((await escrowTotals())[0]).toBe(escrowBefore - 2_500_000n);
    expect(await store.wallets.balance(buyer.wallet.address)).toBe(7_500_000n);
  });

  it('does not serve the wallet routes when the control plane has no chain', async () => {
    const bare = createCloudApp({
      config: loadCloudConfig({}, {}), store, clock, random: seededRandom(6), logger: pino({ level: 'silent' }), inspector: new FakeInspector(),
    });
    const res = await bare.app.request('/v1/chain');
    expect(res.status).toBe(404);
    expect(((await res.json()) as Body).error.code).toBe('ROUTE_NOT_FOUND');
  });
});

describe('cloud config: chain', () => {
  it('defaults to embedded, reads IDLEGRID_CHAIN, and takes an RPC URL only with the authority keypair', () => {
    expect(loadCloudConfig({}).chain).toBe('embedded');
    expect(loadCloudConfig({ IDLEGRID_CHAIN: 'embedded' }).chain).toBe('embedded');
    expect(() => loadCloudConfig({}, { chain: 'https://api.devnet.solana.com' })).toThrow(/authority/);
    expect(() => loadCloudConfig({ IDLEGRID_CHAIN: 'http://127.0.0.1:8899' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
    expect(() => loadCloudConfig({}, { chain: 'ftp://x' })).toThrow(/http\(s\)/);
    const rpc = loadCloudConfig({ IDLEGRID_CHAIN: 'http://127.0.0.1:8899', IDLEGRID_AUTHORITY: '/keys/authority.json' });
    expect(rpc).toMatchObject({ chain: 'http://127.0.0.1:8899', authority: '/keys/authority.json' });
  });
});
