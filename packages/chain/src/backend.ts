import type { Address } from '@idlegrid/domain';
import type { Lifetime } from './programs.ts';

/**
 * What the shared ledger code needs from a chain. Two implementations: LiteSVM in-process
 * (`embedded/`) and a JSON-RPC node through @solana/kit (`rpc/`). Everything that builds, signs,
 * checks or interprets transactions lives above this line, so both backends run the same code.
 */
export interface ChainBackend {
  readonly kind: 'embedded' | 'rpc';
  /** A blockhash to build with, and the block height after which it is no longer accepted. */
  lifetime(): Promise<Lifetime>;
  /** Whether a transaction built with this lifetime could still land. */
  lifetimeValid(lifetime: Lifetime): Promise<boolean>;
  /**
   * Sends a signed transaction and waits until it has landed (successfully or not) or can no
   * longer land. Sending a transaction that already landed is harmless: its status is returned.
   */
  submit(tx: { signature: string; wire: Uint8Array; blockhash: string; lastValidBlockHeight: bigint }): Promise<SubmitOutcome>;
  /** Status of a signature that landed; null when the chain has no record of it. */
  status(signature: string): Promise<LandedStatus | null>;
  account(address: Address): Promise<AccountInfo | null>;
  accounts(addresses: readonly Address[]): Promise<Array<AccountInfo | null>>;
  rawTransaction(signature: string): Promise<RawTransaction | null>;
  /** Signatures of transactions involving `address` whose memo is exactly `memo`, oldest first. */
  signaturesByMemo(memo: string, address: Address): Promise<string[]>;
  /** Every token account of `mint` with its balance. */
  tokenAccountsOfMint(mint: Address): Promise<Array<{ address: Address; amount: bigint }>>;
  /** Σ mintTo / Σ burn over the whole history, when the backend can know it. */
  mintBurnTotals(mint: Address): Promise<{ minted: bigint; burned: bigint } | null>;
  rentExempt(space: number): Promise<bigint>;
  /** Embedded only; RPC throws CHAIN_AIRDROP_UNAVAILABLE. */
  airdropSol(to: Address, lamports: bigint): Promise<void>;
  /** Makes everything so far durable (embedded: journal + snapshot, atomically renamed). */
  persist(): Promise<void>;
  close(): Promise<void>;
}

export interface LandedStatus {
  readonly slot: bigint;
  readonly err: string | null;
}

export type SubmitOutcome =
  | { readonly landed: true; readonly slot: bigint; readonly err: string | null }
  | { readonly landed: false; readonly reason: string };

export interface AccountInfo {
  readonly lamports: bigint;
  readonly owner: Address;
  readonly data: Uint8Array;
}

export interface RawTransaction {
  readonly wire: Uint8Array;
  readonly slot: bigint;
  readonly blockTime: number | null;
  readonly err: string | null;
}
