import { randomBytes } from 'node:crypto';
import type { Address } from '@idlegrid/domain';
import { ChainError } from './errors.ts';
import type { DepositExpectation, LedgerInfo, TokenSymbol } from './ledger.ts';
import { associatedTokenAddress, buildSigned, COMPUTE_BUDGET_PROGRAM, decodeMemo, decodeTokenIx, MEMO_PROGRAM, memoIx, transferCheckedIx, type Lifetime } from './programs.ts';
import { signaturesValid, toBase64, type ChainSigner, type DecodedTransaction } from './wire.ts';

/**
 * A buyer-signed deposit: `transferChecked` of `amount` from the payer's associated token account
 * of `mint` to `escrow`, with a deposit memo. Needs no ledger: a client that knows the mint, the
 * escrow account and a recent blockhash (`GET /v1/chain`) builds the same bytes as
 * `Ledger.buildDepositTransaction`.
 */
export async function buildDepositTransfer(
  payer: ChainSigner,
  o: { mint: Address; escrow: Address; amount: bigint; lifetime: Lifetime },
): Promise<string> {
  assertAmount(o.amount, 'deposit');
  const source = await associatedTokenAddress(payer.address, o.mint);
  const signed = buildSigned(payer, [
    transferCheckedIx(source, o.mint, o.escrow, payer.address, o.amount),
    memoIx(`idlegrid:deposit:${randomBytes(8).toString('hex')}`),
  ], o.lifetime);
  return toBase64(signed.wire);
}


/**
 * Checks a buyer-signed deposit before anything is sent: exactly one SPL transfer (plus an optional
 * memo and compute-budget instructions) from the buyer's associated token account of the expected
 * mint to that mint's escrow (or stake vault, per `expected.destination`), signed by the buyer with valid signatures. Refusals are ChainErrors.
 */
export async function checkDeposit(tx: DecodedTransaction, expected: DepositExpectation, info: LedgerInfo): Promise<{ amount: bigint }> {
  const refuse = (code: 'CHAIN_DEPOSIT_MALFORMED' | 'CHAIN_DEPOSIT_WRONG_DESTINATION' | 'CHAIN_DEPOSIT_WRONG_MINT' | 'CHAIN_DEPOSIT_WRONG_SOURCE' | 'CHAIN_DEPOSIT_WRONG_SIGNER' | 'CHAIN_DEPOSIT_TOO_SMALL', message: string, details: Record<string, unknown> = {}) =>
    new ChainError(code, message, { signature: tx.signature, ...details });
  let transfer: Extract<ReturnType<typeof decodeTokenIx>, { kind: 'transfer' }> | null = null;
  let memos = 0;
  for (const ix of tx.instructions) {
    if (ix.programAddress === COMPUTE_BUDGET_PROGRAM) continue;
    if (ix.programAddress === MEMO_PROGRAM && memos++ === 0 && decodeMemo(ix) !== null) continue;
    const op = decodeTokenIx(ix);
    if (op?.kind === 'transfer' && transfer === null) {
      transfer = op;
      continue;
    }
    throw refuse('CHAIN_DEPOSIT_MALFORMED', 'A deposit must be one SPL transfer to escrow (plus an optional memo and compute-budget instructions)', { program: ix.programAddress });
  }
  if (!transfer) throw refuse('CHAIN_DEPOSIT_MALFORMED', 'The transaction holds no SPL transfer');
  if (transfer.amount <= 0n) throw refuse('CHAIN_DEPOSIT_MALFORMED', 'The deposit amount is zero');
  const sym = expected.mint;
  const other: TokenSymbol = sym === 'IO' ? 'USDC' : 'IO';
  const mint = info.mints[sym];
  const role = expected.destination ?? 'escrow';
  const what = role === 'escrow' ? 'escrow' : 'stake vault';
  if (transfer.destination === info.accounts[other][role]) {
    throw refuse('CHAIN_DEPOSIT_WRONG_MINT', `This transfer pays the ${other} ${what}, not the ${sym} ${what}`, { expected: sym });
  }
  if (transfer.destination !== info.accounts[sym][role]) {
    throw refuse('CHAIN_DEPOSIT_WRONG_DESTINATION', `The transfer goes to ${transfer.destination}, not to the ${sym} ${what} ${info.accounts[sym][role]}`, {
      destination: transfer.destination, expectedDestination: info.accounts[sym][role],
    });
  }
  if (transfer.mint !== null && transfer.mint !== mint) {
    throw refuse('CHAIN_DEPOSIT_WRONG_MINT', `The transfer names mint ${transfer.mint}, not ${sym} (${mint})`, { mint: transfer.mint, expected: mint });
  }
  const source = await associatedTokenAddress(expected.from, mint);
  if (transfer.source !== source) {
    const otherSource = await associatedTokenAddress(expected.from, info.mints[other]);
    if (transfer.source === otherSource) throw refuse('CHAIN_DEPOSIT_WRONG_MINT', `The transfer spends ${other}, not ${sym}`, { expected: sym });
    throw refuse('CHAIN_DEPOSIT_WRONG_SOURCE', `The transfer spends ${transfer.source}, not the ${sym} account of ${expected.from} (${source})`, { source: transfer.source, expected: source });
  }
  const signers = tx.accountKeys.slice(0, tx.numSigners);
  if (transfer.authority !== expected.from || !signers.includes(expected.from)) {
    throw refuse('CHAIN_DEPOSIT_WRONG_SIGNER', `The transfer is not signed by ${expected.from}`, { authority: transfer.authority, signers });
  }
  if (!signaturesValid(tx)) throw refuse('CHAIN_DEPOSIT_WRONG_SIGNER', 'A signature of the transaction does not verify', { signers });
  if (expected.minAmount !== undefined && transfer.amount < expected.minAmount) {
    throw refuse('CHAIN_DEPOSIT_TOO_SMALL', `The deposit of ${transfer.amount} is below the minimum ${expected.minAmount}`, {
      amount: transfer.amount.toString(), minAmount: expected.minAmount.toString(),
    });
  }
  return { amount: transfer.amount };
}

/** A positive u64 amount, or a CHAIN_INVALID_BATCH error naming `what`. */
export function assertAmount(amount: bigint, what: string): void {
  if (typeof amount !== 'bigint' || amount <= 0n || amount >= 1n << 64n) {
    throw new ChainError('CHAIN_INVALID_BATCH', `${what} amount must be a positive u64 bigint, got ${String(amount)}`, { amount: String(amount) });
  }
}
