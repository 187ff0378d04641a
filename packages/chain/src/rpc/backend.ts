import {
  address as kitAddress,
  createSolanaRpc,
  signature as kitSignature,
  blockhash as kitBlockhash,
  type Base58EncodedBytes,
  type Base64EncodedWireTransaction,
  type Rpc,
  type SolanaRpcApi,
} from '@solana/kit';
import type { Address } from '@idlegrid/domain';
import type { AccountInfo, ChainBackend, LandedStatus, RawTransaction, SubmitOutcome } from '../backend.ts';
import { ChainError } from '../errors.ts';
import { parseTokenAccount, TOKEN_ACCOUNT_SIZE, TOKEN_PROGRAM, type Lifetime } from '../programs.ts';
import { fromBase64, toBase64 } from '../wire.ts';

export interface RpcBackendOptions {
  readonly url: string;
  /** How long submit() waits for a confirmation before giving up (ms, default 90 s). */
  readonly confirmTimeoutMs?: number;
  /** Poll interval for signature statuses (ms, default 500). */
  readonly pollMs?: number;
  /** Pages of 1,000 signatures scanned by memo look-ups (default 5). */
  readonly memoScanPages?: number;
}

const COMMITMENT = 'confirmed' as const;

/** A Solana JSON-RPC node (test validator, devnet, mainnet) through @solana/kit. */
export class RpcBackend implements ChainBackend {
  readonly kind = 'rpc' as const;
  private readonly rpc: Rpc<SolanaRpcApi>;

  constructor(private readonly options: RpcBackendOptions) {
    this.rpc = createSolanaRpc(options.url);
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ChainError) throw e;
      throw new ChainError('CHAIN_RPC_ERROR', `RPC ${what} at ${this.options.url} failed: ${(e as Error).message}`, { url: this.options.url, what }, { cause: e });
    }
  }

  lifetime(): Promise<Lifetime> {
    return this.call('getLatestBlockhash', async () => {
      const { value } = await this.rpc.getLatestBlockhash({ commitment: COMMITMENT }).send();
      return { blockhash: value.blockhash, lastValidBlockHeight: value.lastValidBlockHeight };
    });
  }

  lifetimeValid(lifetime: Lifetime): Promise<boolean> {
    return this.call('isBlockhashValid', async () => {
      if (lifetime.lastValidBlockHeight >= 0n) {
        const height = await this.rpc.getBlockHeight({ commitment: COMMITMENT }).send();
        if (height > lifetime.lastValidBlockHeight) return false;
      }
      const { value } = await this.rpc.isBlockhashValid(kitBlockhash(lifetime.blockhash), { commitment: COMMITMENT }).send();
      return value;
    });
  }

  async submit(tx: { signature: string; wire: Uint8Array; blockhash: string; lastValidBlockHeight: bigint }): Promise<SubmitOutcome> {
    const wire = toBase64(tx.wire) as Base64EncodedWireTransaction;
    const deadline = Date.now() + (this.options.confirmTimeoutMs ?? 90_000);
    const poll = this.options.pollMs ?? 500;
    let lastSend = 0;
    let sendError: string | null = null;
    for (;;) {
      if (Date.now() - lastSend >= 2_000) {
        lastSend = Date.now();
        try {
          await this.rpc.sendTransaction(wire, { encoding: 'base64', preflightCommitment: COMMITMENT, maxRetries: 0n }).send();
          sendError = null;
        } catch (e) {
          // Preflight refusals (simulation failed, already processed, blockhash not found): the
          // status below tells whether it landed anyway; otherwise this is the reason it did not.
          sendError = (e as Error).message;
        }
      }
      const status = await this.status(tx.signature, false);
      if (status) return { landed: true, slot: status.slot, err: status.err };
      if (sendError !== null && !/already been processed|AlreadyProcessed/i.test(sendError)) {
        const history = await this.status(tx.signature, true);
        if (history) return { landed: true, slot: history.slot, err: history.err };
        return { landed: false, reason: sendError };
      }
      if (!(await this.lifetimeValid({ blockhash: tx.blockhash, lastValidBlockHeight: tx.lastValidBlockHeight }))) {
        const history = await this.status(tx.signature, true);
        if (history) return { landed: true, slot: history.slot, err: history.err };
        return { landed: false, reason: 'blockhash expired before the transaction landed' };
      }
      if (Date.now() > deadline) return { landed: false, reason: 'not confirmed in time; it may still land (re-run to resume)' };
      await new Promise((resolve) => setTimeout(resolve, poll));
    }
  }

  status(signature: string, searchHistory = true): Promise<LandedStatus | null> {
    return this.call('getSignatureStatuses', async () => {
      const { value } = await this.rpc.getSignatureStatuses([kitSignature(signature)], { searchTransactionHistory: searchHistory }).send();
      const s = value[0];
      if (!s) return null;
      if (s.confirmationStatus !== 'confirmed' && s.confirmationStatus !== 'finalized') return null;
      return { slot: s.slot, err: s.err === null ? null : stringify(s.err) };
    });
  }

  async account(addr: Address): Promise<AccountInfo | null> {
    return (await this.accounts([addr]))[0] ?? null;
  }

  accounts(addresses: readonly Address[]): Promise<Array<AccountInfo | null>> {
    return this.call('getMultipleAccounts', async () => {
      const out: Array<AccountInfo | null> = [];
      for (let i = 0; i < addresses.length; i += 100) {
        const slice = addresses.slice(i, i + 100).map((a) => kitAddress(a));
        const { value } = await this.rpc.getMultipleAccounts(slice, { encoding: 'base64', commitment: COMMITMENT }).send();
        for (const acc of value) {
          out.push(acc ? { lamports: acc.lamports, owner: acc.owner as string as Address, data: fromBase64(acc.data[0]) } : null);
        }
      }
      return out;
    });
  }

  rawTransaction(signature: string): Promise<RawTransaction | null> {
    return this.call('getTransaction', async () => {
      const tx = await this.rpc
        .getTransaction(kitSignature(signature), { encoding: 'base64', commitment: COMMITMENT, maxSupportedTransactionVersion: 0 })
        .send();
      if (!tx) return null;
      return {
        wire: fromBase64(tx.transaction[0]),
        slot: tx.slot,
        blockTime: tx.blockTime === null ? null : Number(tx.blockTime),
        err: tx.meta?.err ? stringify(tx.meta.err) : null,
      };
    });
  }

  signaturesByMemo(memo: string, addr: Address): Promise<string[]> {
    return this.call('getSignaturesForAddress', async () => {
      const found: string[] = [];
      let before: string | undefined;
      for (let page = 0; page < (this.options.memoScanPages ?? 5); page++) {
        const list = await this.rpc
          .getSignaturesForAddress(kitAddress(addr), { limit: 1000, commitment: COMMITMENT, ...(before ? { before: kitSignature(before) } : {}) })
          .send();
        for (const entry of list) {
          // The node reports memos as "[<length>] <memo>", several joined by "; ".
          if (entry.memo !== null && memoMatches(entry.memo, memo)) found.push(entry.signature);
        }
        if (list.length < 1000) break;
        before = list[list.length - 1]?.signature;
      }
      return found.reverse();
    });
  }

  tokenAccountsOfMint(mint: Address): Promise<Array<{ address: Address; amount: bigint }>> {
    return this.call('getProgramAccounts', async () => {
      const accounts = await this.rpc
        .getProgramAccounts(kitAddress(TOKEN_PROGRAM), {
          encoding: 'base64',
          commitment: COMMITMENT,
          filters: [{ dataSize: BigInt(TOKEN_ACCOUNT_SIZE) }, { memcmp: { offset: 0n, bytes: mint as string as Base58EncodedBytes, encoding: 'base58' } }],
        })
        .send();
      return accounts.map((a) => ({ address: a.pubkey as string as Address, amount: parseTokenAccount(fromBase64(a.account.data[0]))?.amount ?? 0n }));
    });
  }

  mintBurnTotals(): Promise<null> {
    return Promise.resolve(null);
  }

  rentExempt(space: number): Promise<bigint> {
    return this.call('getMinimumBalanceForRentExemption', async () => await this.rpc.getMinimumBalanceForRentExemption(BigInt(space)).send());
  }

  airdropSol(): Promise<void> {
    return Promise.reject(new ChainError('CHAIN_AIRDROP_UNAVAILABLE', 'Airdrops exist only on the embedded network', { backend: 'rpc' }));
  }

  persist(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function memoMatches(reported: string, memo: string): boolean {
  return reported.split('; ').some((part) => part === memo || part.replace(/^\[\d+\] /, '') === memo);
}

function stringify(err: unknown): string {
  return JSON.stringify(err, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
