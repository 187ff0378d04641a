import type { Address } from '@idlegrid/domain';
import type { ChainBackend, RawTransaction } from './backend.ts';
import type { ChainTokenOp, ChainTransaction, ChainTransfer, LedgerInfo, TokenSymbol } from './ledger.ts';
import { decodeMemo, decodeTokenIx, parseTokenAccount } from './programs.ts';
import { decodeTransaction } from './wire.ts';

/**
 * A landed transaction as the audit reads it: memo, signers, and every SPL transfer, burn and mint
 * with the owners and mints of the token accounts involved (looked up on the chain).
 */
export async function describeTransaction(raw: RawTransaction, info: LedgerInfo, chain: Pick<ChainBackend, 'accounts'>): Promise<ChainTransaction> {
  const tx = decodeTransaction(raw.wire);
  const symbolOf = (mint: Address | null): TokenSymbol | Address | null =>
    mint === null ? null : mint === info.mints.IO ? 'IO' : mint === info.mints.USDC ? 'USDC' : mint;
  const memos: string[] = [];
  const ops = tx.instructions.map((ix) => {
    const memo = decodeMemo(ix);
    if (memo !== null) memos.push(memo);
    return decodeTokenIx(ix);
  });
  const tokenAccounts = new Set<Address>();
  for (const op of ops) {
    if (op?.kind === 'transfer') tokenAccounts.add(op.source).add(op.destination);
    else if (op?.kind === 'mintTo' || op?.kind === 'burn') tokenAccounts.add(op.account);
  }
  const list = [...tokenAccounts];
  const data = await chain.accounts(list);
  const holders = new Map<Address, { owner: Address; mint: Address }>();
  list.forEach((addr, i) => {
    const t = data[i] ? parseTokenAccount(data[i].data) : null;
    if (t) holders.set(addr, { owner: t.owner, mint: t.mint });
  });
  const transfers: ChainTransfer[] = [];
  const burns: ChainTokenOp[] = [];
  const mints: ChainTokenOp[] = [];
  for (const op of ops) {
    if (op?.kind === 'transfer') {
      const src = holders.get(op.source);
      const dst = holders.get(op.destination);
      transfers.push({
        from: op.source,
        to: op.destination,
        fromOwner: src?.owner ?? null,
        toOwner: dst?.owner ?? null,
        mint: symbolOf(op.mint ?? src?.mint ?? dst?.mint ?? null),
        amount: op.amount,
      });
    } else if (op?.kind === 'burn' || op?.kind === 'mintTo') {
      const entry: ChainTokenOp = { account: op.account, owner: holders.get(op.account)?.owner ?? null, mint: symbolOf(op.mint) ?? op.mint, amount: op.amount };
      (op.kind === 'burn' ? burns : mints).push(entry);
    }
  }
  return {
    signature: tx.signature,
    memo: memos.length === 0 ? null : memos.join('\n'),
    signers: tx.accountKeys.slice(0, tx.numSigners),
    transfers,
    burns,
    mints,
    slot: raw.slot,
    blockTime: raw.blockTime,
    err: raw.err,
  };
}
