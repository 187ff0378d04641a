import { randomBytes } from 'node:crypto';
import { convertUsdcToIo, formatDecimal, IdlegridError, parseDecimal, parseUsd, type Address, type Clock } from '@idlegrid/domain';
import { isChainError, type Ledger, type TokenSymbol } from '@idlegrid/chain';
import {
  chainInfoResponseSchema, createDepositRequestSchema, createDepositResponseSchema, createWithdrawalRequestSchema, createWithdrawalResponseSchema,
  walletAirdropRequestSchema, walletResponseSchema,
  type DepositView,
} from '@idlegrid/protocol';
import type { DepositRecord, Store } from '@idlegrid/store';
import type { CloudConfig } from '../../config.ts';
import { insufficientEscrow } from '../../settlement/lease-terms.ts';
import type { Settler } from '../../settlement/settler.ts';
import { fromChainError, onChain } from '../chain-errors.ts';
import type { ApiRouter } from '../router.ts';

const LAMPORTS_PER_MICRO = 1_000n; // SOL has 9 decimals, decimal strings here have at most 6
const AIRDROP_DEFAULTS = { sol: '1', io: '1000', usdc: '1000' } as const;
const AIRDROP_LIMITS = { sol: parseDecimal('10'), io: parseDecimal('100000'), usdc: parseDecimal('100000') } as const;

/** Lamports as a decimal SOL string (9 decimals, trailing zeros trimmed). */
export function formatLamports(lamports: bigint): string {
  const whole = lamports / 1_000_000_000n;
  const fraction = (lamports % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${whole}${fraction ? `.${fraction}` : ''}`;
}

function depositView(d: DepositRecord): DepositView {
  return {
    signature: d.signature,
    wallet: d.wallet,
    token: d.token,
    amountPaid: formatDecimal(d.amountPaid),
    ioCredited: formatDecimal(d.ioCredited),
    fee: formatDecimal(d.fee),
    at: d.atMs,
  };
}

/**
 * The buyer's wallet: on-chain balances, escrow balance, deposits (relayed and credited) and,
 * on the embedded network, an airdrop.
 */
export function addWalletRoutes(router: ApiRouter, store: Store, clock: Clock, ledger: Ledger, config: CloudConfig, settler: Settler): void {
  const referencePrice = parseUsd(config.ioUsdReferencePrice);
  const walletView = async (l: Ledger, wallet: Address) => {
    const [balances, escrow, deposits] = await Promise.all([
      onChain(() => l.balances(wallet)),
      store.wallets.balance(wallet),
      store.wallets.deposits(wallet, { limit: 20 }),
    ]);
    return {
      wallet,
      network: l.backend,
      balances: { sol: formatLamports(balances.sol), io: formatDecimal(balances.io), usdc: formatDecimal(balances.usdc) },
      escrow: { io: formatDecimal(escrow) },
      deposits: deposits.map(depositView),
    };
  };

  router.add(
    {
      method: 'get',
      path: '/v1/chain',
      summary: 'The settlement chain: mints, escrow accounts, a recent blockhash and the USDC conversion terms',
      tag: 'wallet',
      auth: false,
      response: chainInfoResponseSchema,
    },
    async () => {
      const l = ledger;
      const info = l.info();
      const lifetime = await onChain(() => l.recentBlockhash());
      return {
        network: info.backend,
        authority: info.authority,
        decimals: info.decimals,
        mints: { IO: info.mints.IO, USDC: info.mints.USDC },
        escrow: { IO: info.accounts.IO.escrow, USDC: info.accounts.USDC.escrow },
        recentBlockhash: lifetime.blockhash,
        lastValidBlockHeight: lifetime.lastValidBlockHeight.toString(),
        ioUsdReferencePrice: config.ioUsdReferencePrice,
        usdcConversionFeeBps: config.usdcConversionFeeBps,
      };
    },
  );

  router.add(
    { method: 'get', path: '/v1/wallet', summary: 'On-chain balances (SOL, IO, USDC), escrow balance and latest deposits', tag: 'wallet', auth: true, response: walletResponseSchema },
    ({ c }) => walletView(ledger, c.get('wallet')),
  );

  router.add(
    {
      method: 'post',
      path: '/v1/wallet/airdrop',
      summary: 'Embedded network only: SOL, IO and USDC to try things out (bounded amounts)',
      tag: 'wallet',
      auth: true,
      body: walletAirdropRequestSchema,
      response: walletResponseSchema,
    },
    async ({ body, c }) => {
      const l = ledger;
      if (l.backend !== 'embedded') throw new IdlegridError('CHAIN_AIRDROP_UNAVAILABLE', { reason: `this control plane settles on ${l.backend}` });
      const amounts = {
        sol: parseDecimal(body.sol ?? AIRDROP_DEFAULTS.sol),
        io: parseDecimal(body.io ?? AIRDROP_DEFAULTS.io),
        usdc: parseDecimal(body.usdc ?? AIRDROP_DEFAULTS.usdc),
      };
      for (const key of ['sol', 'io', 'usdc'] as const) {
        if (amounts[key] > AIRDROP_LIMITS[key]) {
          throw new IdlegridError('INVALID_AMOUNT', { value: formatDecimal(amounts[key]), reason: `an airdrop gives at most ${formatDecimal(AIRDROP_LIMITS[key])} ${key.toUpperCase()}` });
        }
      }
      const wallet = c.get('wallet');
      await onChain(() => l.airdrop(wallet, { sol: amounts.sol * LAMPORTS_PER_MICRO, io: amounts.io, usdc: amounts.usdc }));
      return walletView(l, wallet);
    },
  );

  router.add(
    {
      method: 'post',
      path: '/v1/wallet/deposits',
      summary: 'Relay a signed deposit (SPL transfer to escrow) and credit escrow; USDC converts to IO at the reference price minus the fee',
      tag: 'wallet',
      auth: true,
      body: createDepositRequestSchema,
      response: createDepositResponseSchema,
      status: 201,
    },
    async ({ body, c }) => {
      const l = ledger;
      const wallet = c.get('wallet');
      const token: TokenSymbol = body.token;
      // Every check (destination, mint, source, signer, replay) happens before anything is sent.
      let verified: { signature: string; amount: bigint };
      try {
        verified = await l.verifyDeposit(body.transaction, { from: wallet, mint: token });
      } catch (error) {
        // A crash after the relay but before the credit leaves a landed deposit with no record:
        // its resubmission is a "replay" that passed every other check, so credit it now, once.
        const landed = landedButUncredited(error);
        if (!landed) throw fromChainError(error);
        verified = landed;
      }
      const conversion = token === 'IO' ? { credited: verified.amount, fee: 0n } : convertUsdcToIo(verified.amount, referencePrice, config.usdcConversionFeeBps);
      const { deposit, credited } = await store.wallets.credit({
        signature: verified.signature,
        wallet,
        token,
        amountPaid: verified.amount,
        ioCredited: conversion.credited,
        fee: conversion.fee,
        atMs: clock.now(),
      });
      // Already on the books: a true replay, credited at most once.
      if (!credited) throw new IdlegridError('CHAIN_DEPOSIT_REPLAY', { signature: verified.signature });
      // A USDC credit is backed on chain right away; if that fails, the next settlement round does it.
      if (token === 'USDC') await settler.convertSoon(deposit);
      return { deposit: depositView(deposit), escrow: { io: formatDecimal(await store.wallets.balance(wallet)) } };
    },
  );
}

export function addWithdrawalRoute(router: ApiRouter, store: Store, clock: Clock, settler: Settler): void {
  router.add(
    {
      method: 'post',
      path: '/v1/wallet/withdrawals',
      summary: 'Send unreserved escrow IO back to your wallet (recorded first, then transferred on chain)',
      tag: 'wallet',
      auth: true,
      body: createWithdrawalRequestSchema,
      response: createWithdrawalResponseSchema,
      status: 201,
    },
    async ({ body, c }) => {
      const wallet = c.get('wallet');
      const amount = parseDecimal(body.amount);
      if (amount === 0n) throw new IdlegridError('INVALID_AMOUNT', { value: body.amount, reason: 'a withdrawal must be more than 0' });
      const recorded = await store.wallets.withdraw({ id: `wdr_${randomBytes(10).toString('hex')}`, wallet, amountIo: amount, atMs: clock.now() });
      if (!recorded) throw insufficientEscrow(wallet, amount, await store.wallets.balance(wallet));
      // Sent now; if that fails (or another replica leads), the next settlement round sends it (the record is already durable).
      const signature = await settler.withdrawSoon(recorded);
      return {
        withdrawal: { id: recorded.id, wallet, amountIo: formatDecimal(amount), signature, at: recorded.atMs },
        escrow: { io: formatDecimal(await store.wallets.balance(wallet)) },
      };
    },
  );
}

/** The deposit a CHAIN_DEPOSIT_REPLAY refers to, if it executed without error (the store decides whether it is new). */
function landedButUncredited(error: unknown): { signature: string; amount: bigint } | null {
  if (!isChainError(error) || error.code !== 'CHAIN_DEPOSIT_REPLAY') return null;
  const { signature, amount, err } = error.details;
  if (typeof signature !== 'string' || typeof amount !== 'string' || (err !== null && err !== undefined)) return null;
  return { signature, amount: BigInt(amount) };
}
