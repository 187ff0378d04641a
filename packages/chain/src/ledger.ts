import type { Address } from '@idlegrid/domain';
import type { ChainSigner } from './wire.ts';

/** The two SPL tokens of idlegrid, both with 6 decimals. */
export type TokenSymbol = 'IO' | 'USDC';
export const TOKENS: readonly TokenSymbol[] = ['IO', 'USDC'];

/** Token accounts the protocol authority owns for one mint (custodial: see README). */
export interface ProtocolAccounts {
  /** Buyers deposit here; settlement pays, burns and refunds from here. */
  readonly escrow: Address;
  /** The protocol fee share that is not burned. */
  readonly treasury: Address;
  /** Suppliers' stake. */
  readonly stakeVault: Address;
}

export interface LedgerInfo {
  readonly backend: 'embedded' | 'rpc';
  /** Protocol authority: fee payer, mint authority, owner of escrow/treasury/stake vault. */
  readonly authority: Address;
  readonly mints: Readonly<Record<TokenSymbol, Address>>;
  readonly accounts: Readonly<Record<TokenSymbol, ProtocolAccounts>>;
  readonly decimals: 6;
  /** Program ids used (the memo program is v3 at MemoSq4g…). */
  readonly programs: { readonly token: Address; readonly associatedToken: Address; readonly memo: Address };
}

/** Base units: lamports for SOL, 6-decimal units for IO and USDC. */
export interface Balances {
  readonly sol: bigint;
  readonly io: bigint;
  readonly usdc: bigint;
}

/** The protocol token accounts a wallet can pay into and the protocol pays out of. */
export type VaultRole = 'escrow' | 'stakeVault';

export interface DepositExpectation {
  /** The buyer's wallet: owner of the source token account and signer of the transfer. */
  readonly from: Address;
  readonly mint: TokenSymbol;
  readonly minAmount?: bigint;
  /** Which protocol account the transfer must pay: escrow (default) or the stake vault (a stake). */
  readonly destination?: VaultRole;
}

export interface VerifiedDeposit {
  readonly signature: string;
  readonly amount: bigint;
  readonly mint: TokenSymbol;
  readonly from: Address;
  readonly slot: bigint;
}

export interface Payout {
  /** The recipient's wallet; tokens go to its associated token account (created when missing). */
  readonly to: Address;
  readonly amount: bigint;
}

export interface PayBatch {
  /** Deterministic batch id (the caller's); with the chunk index it keys idempotency. */
  readonly id: string;
  /** Carried by every payment transaction of the batch, e.g. `idlegrid:settle:<id>:<merkle root>`. */
  readonly memo: string;
  readonly transfers: readonly Payout[];
  /** Burned from the source with SPL burn (reduces supply). */
  readonly burn?: bigint;
  /** Moved from the source to the treasury token account. */
  readonly treasury?: bigint;
  readonly mint: TokenSymbol;
  /** The protocol account every amount leaves: escrow (default) or the stake vault (unstakes, slashes). */
  readonly source?: VaultRole;
}

export interface MintBatch {
  readonly id: string;
  readonly memo: string;
  readonly mints: readonly Payout[];
  /** Minted into the treasury token account (in the first transaction of the batch). */
  readonly treasury?: bigint;
  readonly mint: TokenSymbol;
}

/**
 * Backs the IO credit of a USDC deposit on chain: the USDC moves from the USDC escrow to the USDC
 * treasury and the credited IO is minted into the IO escrow, in one transaction (the embedded
 * network's stand-in for buying IO with the USDC at the reference price).
 */
export interface ConversionBatch {
  readonly id: string;
  readonly memo: string;
  readonly usdc: bigint;
  readonly io: bigint;
}

export interface BatchResult {
  readonly id: string;
  /** One signature per payment transaction, in chunk order; each carries the batch memo. */
  readonly signatures: readonly string[];
  /** Transactions that created missing associated token accounts before paying (no memo). */
  readonly setupSignatures: readonly string[];
  /** How many chunks were found already landed (a re-run after a crash). */
  readonly recovered: number;
}

export interface ChainTransfer {
  /** Token accounts. */
  readonly from: Address;
  readonly to: Address;
  /** Wallets owning those token accounts, when known. */
  readonly fromOwner: Address | null;
  readonly toOwner: Address | null;
  readonly mint: TokenSymbol | Address | null;
  readonly amount: bigint;
}

export interface ChainTokenOp {
  readonly account: Address;
  readonly owner: Address | null;
  readonly mint: TokenSymbol | Address;
  readonly amount: bigint;
}

export interface ChainTransaction {
  readonly signature: string;
  readonly memo: string | null;
  readonly signers: readonly Address[];
  readonly transfers: readonly ChainTransfer[];
  readonly burns: readonly ChainTokenOp[];
  readonly mints: readonly ChainTokenOp[];
  readonly slot: bigint;
  /** Unix seconds of the slot, when the backend knows it. */
  readonly blockTime: number | null;
  /** null when the transaction succeeded. */
  readonly err: string | null;
}

export interface ConservationReport {
  readonly mint: TokenSymbol;
  /** Supply recorded in the mint account. */
  readonly supply: bigint;
  /** Sum of the balances of every token account of the mint. */
  readonly accountsTotal: bigint;
  readonly tokenAccounts: number;
  /** Σ mintTo and Σ burn seen by this ledger (embedded: every transaction ever; RPC: null). */
  readonly minted: bigint | null;
  readonly burned: bigint | null;
  /** supply == accountsTotal and, when known, supply == minted − burned. */
  readonly ok: boolean;
}

/**
 * What a payment or mint transaction was before it was sent: enough to recognise it on the chain
 * (signature), to resend the identical bytes after a crash (transaction), to know when it can no
 * longer land (blockhash, lastValidBlockHeight), and to refuse a changed batch under the same id (digest).
 */
export interface IdempotencyEntry {
  readonly signature: string;
  /** base64 wire transaction, signed. */
  readonly transaction: string;
  readonly blockhash: string;
  /** decimal string (bigint) */
  readonly lastValidBlockHeight: string;
  /** sha256 of the instructions, blockhash excluded. */
  readonly digest: string;
}

/**
 * Caller-provided durable map. `put` must be durable before it resolves: the ledger writes the
 * entry before it sends the transaction, so a crash at any point leaves either no transaction or
 * one the ledger can find again.
 */
export interface IdempotencyStore {
  get(key: string): Promise<IdempotencyEntry | undefined>;
  put(key: string, entry: IdempotencyEntry): Promise<void>;
}

/** The settlement port. Every amount is bigint base units. */
export interface Ledger {
  readonly backend: 'embedded' | 'rpc';
  /** Creates the mints, the authority's token accounts (and, embedded, funds the authority). Idempotent. */
  bootstrap(): Promise<LedgerInfo>;
  info(): LedgerInfo;
  /** Embedded only: SOL lamports and freshly minted IO/USDC to the owner's associated token accounts. */
  airdrop(owner: Address, amounts: { sol?: bigint; io?: bigint; usdc?: bigint }): Promise<void>;
  balances(owner: Address): Promise<Balances>;
  /** Balance of any token account (0 when it does not exist). */
  tokenAccountBalance(account: Address): Promise<bigint>;
  /** A buyer-signed transfer to escrow (or `expected.destination`), checked then sent. Refusals are ChainErrors CHAIN_DEPOSIT_*. */
  verifyDeposit(signedTxBase64: string, expected: DepositExpectation): Promise<VerifiedDeposit>;
  /**
   * What the CLI sends to `POST /v1/wallet/deposits` (or `POST /v1/stake` with destination
   * `stakeVault`): a signed transfer from the payer's ATA to that protocol account.
   */
  buildDepositTransaction(payer: ChainSigner, mint: TokenSymbol, amount: bigint, destination?: VaultRole): Promise<string>;
  /** A blockhash to build a transaction with (e.g. a client-side deposit) and its last valid block height. */
  recentBlockhash(): Promise<{ readonly blockhash: string; readonly lastValidBlockHeight: bigint }>;
  payBatch(batch: PayBatch): Promise<BatchResult>;
  mintTo(batch: MintBatch): Promise<BatchResult>;
  /** Idempotent by id like payBatch; see ConversionBatch. */
  convertDeposit(batch: ConversionBatch): Promise<BatchResult>;
  /** A memo-only transaction, e.g. `idlegrid:lease:<id>:<hash>`. */
  anchor(memo: string): Promise<string>;
  getTransaction(signature: string): Promise<ChainTransaction | null>;
  /** Signatures of the authority's transactions carrying exactly this memo, oldest first. */
  findByMemo(memo: string): Promise<string[]>;
  supply(mint: TokenSymbol): Promise<bigint>;
  conservation(mint?: TokenSymbol): Promise<ConservationReport>;
  close(): Promise<void>;
}
