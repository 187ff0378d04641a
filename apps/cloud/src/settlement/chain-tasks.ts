import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Ledger } from '@idlegrid/chain';
import type { LeaseId } from '@idlegrid/domain';
import { canonicalJson } from '@idlegrid/protocol';
import type { DepositRecord, LeaseAccountRecord, Store, WithdrawalRecord } from '@idlegrid/store';

/** Named points where a test can kill the process (SIGKILL) to prove crash safety. */
export type CrashHook = (point: string) => void;

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export const leaseMemo = (id: LeaseId, hash: string): string => `idlegrid:lease:${id}:${hash}`;
export const refundBatchId = (id: LeaseId): string => `refund-${id}`;
export const refundMemo = (id: LeaseId): string => `idlegrid:refund:${id}`;
export const conversionBatchId = (signature: string): string => `convert-${signature}`;
export const conversionMemo = (signature: string): string => `idlegrid:convert:${signature}`;
export const withdrawalMemo = (id: string): string => `idlegrid:withdraw:${id}`;

/** The hash anchored when a lease ends: its terms, what it was charged and what was refunded. */
export function closingHash(account: LeaseAccountRecord): string {
  return sha256Hex(canonicalJson({ terms: account.termsHash, charged: account.chargedIo.toString(), refund: (account.refundIo ?? 0n).toString() }));
}

/**
 * The chain side effects of leases and deposits other than payouts: lease anchors, refunds and
 * USDC conversions. Each is recorded in the store as needed before it is sent, and recognized
 * after a crash (anchors by their memo, refunds and conversions by the ledger's idempotency by
 * batch id), so re-running any of them never does it twice.
 */
export class ChainTasks {
  constructor(private readonly o: { store: Store; ledger: Ledger; logger: Logger; crash?: CrashHook }) {}

  /** A memo-only transaction, sent at most once per memo. */
  async anchorOnce(memo: string): Promise<string> {
    const [existing] = await this.o.ledger.findByMemo(memo);
    if (existing) return existing;
    const signature = await this.o.ledger.anchor(memo);
    this.o.crash?.('anchor.sent');
    return signature;
  }

  async finishAccount(account: LeaseAccountRecord): Promise<void> {
    const { store, ledger } = this.o;
    if (account.openAnchor === null) {
      await store.escrow.setAnchor(account.leaseId, 'open', await this.anchorOnce(leaseMemo(account.leaseId, account.termsHash)));
    }
    if (account.closedAtMs === null) return;
    const refund = account.refundIo ?? 0n;
    if (refund > 0n && account.refundSignature === null) {
      const result = await ledger.payBatch({ id: refundBatchId(account.leaseId), memo: refundMemo(account.leaseId), transfers: [{ to: account.buyer, amount: refund }], mint: 'IO' });
      this.o.crash?.('refund.sent');
      const [signature] = result.signatures;
      if (signature) await store.escrow.setRefundSignature(account.leaseId, signature);
      this.o.logger.info({ leaseId: account.leaseId, refund: refund.toString(), signature }, 'lease refunded');
    }
    if (account.closeAnchor === null) {
      await store.escrow.setAnchor(account.leaseId, 'close', await this.anchorOnce(leaseMemo(account.leaseId, closingHash(account))));
    }
  }

  /** Moves a USDC deposit's USDC to treasury and mints its IO credit into escrow (once). */
  async convert(deposit: DepositRecord): Promise<void> {
    if (deposit.token !== 'USDC') return;
    const result = await this.o.ledger.convertDeposit({
      id: conversionBatchId(deposit.signature),
      memo: conversionMemo(deposit.signature),
      usdc: deposit.amountPaid,
      io: deposit.ioCredited,
    });
    this.o.crash?.('convert.sent');
    const [signature] = result.signatures;
    if (signature) await this.o.store.wallets.setConversion(deposit.signature, signature);
  }

  /** Sends a recorded withdrawal from escrow to its wallet (once: keyed by its id). */
  async withdraw(w: WithdrawalRecord): Promise<string> {
    const result = await this.o.ledger.payBatch({ id: `withdraw-${w.id}`, memo: withdrawalMemo(w.id), transfers: [{ to: w.wallet, amount: w.amountIo }], mint: 'IO' });
    this.o.crash?.('withdraw.sent');
    const [signature] = result.signatures;
    if (!signature) throw new Error(`withdrawal ${w.id} produced no transaction`);
    await this.o.store.wallets.setWithdrawalSignature(w.id, signature);
    return signature;
  }

  async withdrawPending(): Promise<void> {
    for (const w of await this.o.store.wallets.unsentWithdrawals(100)) await this.withdraw(w);
  }

  async convertPending(): Promise<void> {
    for (const d of await this.o.store.wallets.unconverted(100)) await this.convert(d);
  }

  async finishAccounts(): Promise<void> {
    for (const account of await this.o.store.escrow.unfinished(100)) await this.finishAccount(account);
  }
}
