import { createHash } from 'node:crypto';
import {
  appendTransactionMessageInstructions,
  blockhash as kitBlockhash,
  compileTransaction,
  AccountRole,
  createAddressWithSeed,
  createNoopSigner,
  createTransactionMessage,
  pipe,
  setTransactionMessageFeePayer,
  setTransactionMessageLifetimeUsingBlockhash,
  type Address as KitAddress,
  type Instruction,
} from '@solana/kit';
import { getAddMemoInstruction } from '@solana-program/memo';
import { getCreateAccountWithSeedInstruction, getTransferSolInstruction } from '@solana-program/system';
import {
  findAssociatedTokenPda,
  getBurnInstruction,
  getCreateAssociatedTokenIdempotentInstruction,
  getInitializeAccount3Instruction,
  getInitializeMint2Instruction,
  getMintToInstruction,
  getTransferCheckedInstruction,
  getTransferInstruction,
} from '@solana-program/token';
import { base58Encode as base58, type Address } from '@idlegrid/domain';
import { ChainError } from './errors.ts';
import {
  compactU16Length,
  encodeWire,
  MAX_TRANSACTION_BYTES,
  signBytes,
  type ChainSigner,
  type DecodedInstruction,
} from './wire.ts';

export const TOKEN_PROGRAM = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA' as Address;
export const ASSOCIATED_TOKEN_PROGRAM = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL' as Address;
export const SYSTEM_PROGRAM = '11111111111111111111111111111111' as Address;
export const COMPUTE_BUDGET_PROGRAM = 'ComputeBudget111111111111111111111111111111' as Address;
/** Memo v3, the address LiteSVM preloads and every public cluster runs. */
export const MEMO_PROGRAM = 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr' as Address;

export const MINT_SIZE = 82;
export const TOKEN_ACCOUNT_SIZE = 165;
export const DECIMALS = 6;
/** Largest memo the builders accept (bytes of UTF-8); keeps room for transfers in each transaction. */
export const MAX_MEMO_BYTES = 256;

/** Our Address is already validated base58 (branded); skip kit's re-validation on hot paths. */
const k = (a: Address) => a as string as KitAddress;

// ---- addresses ------------------------------------------------------------------------------

/** Deterministic account derived from the authority with `createAccountWithSeed` (≤ 32-char seed). */
export async function seededAddress(base: Address, seed: string, owner: Address = TOKEN_PROGRAM): Promise<Address> {
  return (await createAddressWithSeed({ baseAddress: k(base), programAddress: k(owner), seed })) as string as Address;
}

const ataCache = new Map<string, Address>();

/** The associated token account of `owner` for `mint` (cached; derivation is a hash search). */
export async function associatedTokenAddress(owner: Address, mint: Address): Promise<Address> {
  const key = `${owner}:${mint}`;
  const hit = ataCache.get(key);
  if (hit) return hit;
  const [pda] = await findAssociatedTokenPda({ owner: k(owner), mint: k(mint), tokenProgram: k(TOKEN_PROGRAM) });
  const out = pda as string as Address;
  if (ataCache.size > 200_000) ataCache.clear();
  ataCache.set(key, out);
  return out;
}

// ---- instruction builders (the same for every backend) --------------------------------------

export function memoIx(memo: string): Instruction {
  return getAddMemoInstruction({ memo }, { programAddress: k(MEMO_PROGRAM) });
}

export function createSeededAccountIx(payer: Address, newAccount: Address, seed: string, lamports: bigint, space: number): Instruction {
  const signer = createNoopSigner(k(payer));
  return getCreateAccountWithSeedInstruction({
    payer: signer,
    newAccount: k(newAccount),
    baseAccount: signer,
    base: k(payer),
    seed,
    amount: lamports,
    space,
    programAddress: k(TOKEN_PROGRAM),
  });
}

export function transferSolIx(from: Address, to: Address, lamports: bigint): Instruction {
  return getTransferSolInstruction({ source: createNoopSigner(k(from)), destination: k(to), amount: lamports });
}

export function initializeMintIx(mint: Address, authority: Address): Instruction {
  return getInitializeMint2Instruction({ mint: k(mint), decimals: DECIMALS, mintAuthority: k(authority) });
}

export function initializeTokenAccountIx(account: Address, mint: Address, owner: Address): Instruction {
  return getInitializeAccount3Instruction({ account: k(account), mint: k(mint), owner: k(owner) });
}

export function createAtaIdempotentIx(payer: Address, ata: Address, owner: Address, mint: Address): Instruction {
  return getCreateAssociatedTokenIdempotentInstruction({
    payer: createNoopSigner(k(payer)),
    ata: k(ata),
    owner: k(owner),
    mint: k(mint),
  });
}

export function transferIx(source: Address, destination: Address, authority: Address, amount: bigint): Instruction {
  return getTransferInstruction({
    source: k(source),
    destination: k(destination),
    authority: createNoopSigner(k(authority)),
    amount,
  });
}

export function transferCheckedIx(source: Address, mint: Address, destination: Address, authority: Address, amount: bigint): Instruction {
  return getTransferCheckedInstruction({
    source: k(source),
    mint: k(mint),
    destination: k(destination),
    authority: createNoopSigner(k(authority)),
    amount,
    decimals: DECIMALS,
  });
}

export function mintToIx(mint: Address, token: Address, authority: Address, amount: bigint): Instruction {
  return getMintToInstruction({ mint: k(mint), token: k(token), mintAuthority: createNoopSigner(k(authority)), amount });
}

export function burnIx(account: Address, mint: Address, authority: Address, amount: bigint): Instruction {
  return getBurnInstruction({ account: k(account), mint: k(mint), authority: createNoopSigner(k(authority)), amount });
}

// ---- compile + sign -------------------------------------------------------------------------

export interface SignedTransaction {
  readonly signature: string;
  readonly wire: Uint8Array;
  readonly blockhash: string;
  readonly lastValidBlockHeight: bigint;
}

export interface Lifetime {
  readonly blockhash: string;
  readonly lastValidBlockHeight: bigint;
}

/** Compiles a legacy transaction with kit and signs it with node:crypto ed25519 (synchronous, fast). */
export function buildSigned(feePayer: ChainSigner, instructions: readonly Instruction[], lifetime: Lifetime, extraSigners: readonly ChainSigner[] = []): SignedTransaction {
  const message = pipe(
    createTransactionMessage({ version: 'legacy' }),
    (m) => setTransactionMessageFeePayer(k(feePayer.address), m),
    (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: kitBlockhash(lifetime.blockhash), lastValidBlockHeight: lifetime.lastValidBlockHeight }, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const compiled = compileTransaction(message);
  const messageBytes = new Uint8Array(compiled.messageBytes);
  const signers = new Map<string, ChainSigner>([[feePayer.address, feePayer]]);
  for (const s of extraSigners) signers.set(s.address, s);
  const signatures = Object.keys(compiled.signatures).map((addr) => {
    const signer = signers.get(addr);
    if (!signer) throw new ChainError('CHAIN_SEND_FAILED', `No key to sign for ${addr}`, { address: addr });
    return signBytes(signer, messageBytes);
  });
  const wire = encodeWire(signatures, messageBytes);
  if (wire.length > MAX_TRANSACTION_BYTES) {
    throw new ChainError('CHAIN_SEND_FAILED', `Transaction of ${wire.length} bytes exceeds ${MAX_TRANSACTION_BYTES}`, { bytes: wire.length });
  }
  const first = signatures[0];
  if (!first) throw new ChainError('CHAIN_SEND_FAILED', 'Transaction has no signer');
  return { signature: base58(first), wire, blockhash: lifetime.blockhash, lastValidBlockHeight: lifetime.lastValidBlockHeight };
}

// ---- exact legacy size accounting (for chunking without compiling every candidate) ---------

/** Incrementally computes the serialized size of a legacy transaction as instructions are added. */
export class SizeMeter {
  private readonly keys = new Set<string>();
  private readonly signers = new Set<string>();
  private ixBytes = 0;
  private ixCount = 0;

  constructor(feePayer: Address) {
    this.keys.add(feePayer);
    this.signers.add(feePayer);
  }

  /** Size if `ixs` were added (does not add them). */
  sizeWith(ixs: readonly Instruction[]): number {
    const keys = new Set(this.keys);
    const signers = new Set(this.signers);
    let ixBytes = this.ixBytes;
    for (const ix of ixs) ixBytes += this.account(ix, keys, signers);
    return this.total(keys.size, signers.size, ixBytes, this.ixCount + ixs.length);
  }

  add(ixs: readonly Instruction[]): void {
    for (const ix of ixs) this.ixBytes += this.account(ix, this.keys, this.signers);
    this.ixCount += ixs.length;
  }

  get size(): number {
    return this.total(this.keys.size, this.signers.size, this.ixBytes, this.ixCount);
  }

  private account(ix: Instruction, keys: Set<string>, signers: Set<string>): number {
    keys.add(ix.programAddress);
    const accounts = ix.accounts ?? [];
    for (const a of accounts) {
      keys.add(a.address);
      if (isSignerRole(a.role)) signers.add(a.address);
    }
    const dataLength = ix.data?.length ?? 0;
    return 1 + compactU16Length(accounts.length) + accounts.length + compactU16Length(dataLength) + dataLength;
  }

  private total(nKeys: number, nSigners: number, ixBytes: number, nIx: number): number {
    return compactU16Length(nSigners) + 64 * nSigners + 3 + compactU16Length(nKeys) + 32 * nKeys + 32 + compactU16Length(nIx) + ixBytes;
  }
}

function isSignerRole(role: AccountRole): boolean {
  return role === AccountRole.READONLY_SIGNER || role === AccountRole.WRITABLE_SIGNER;
}

// ---- content digests ------------------------------------------------------------------------

/** A digest of instructions (program, accounts, data) that ignores the blockhash and signatures. */
export function digestInstructions(ixs: ReadonlyArray<{ programAddress: string; accounts: readonly string[]; data: Uint8Array }>): string {
  const h = createHash('sha256');
  for (const ix of ixs) {
    h.update(ix.programAddress);
    h.update('|');
    h.update(ix.accounts.join(','));
    h.update('|');
    h.update(Buffer.from(ix.data));
    h.update('\n');
  }
  return h.digest('hex');
}

export function toDigestable(ix: Instruction): { programAddress: string; accounts: string[]; data: Uint8Array } {
  return { programAddress: ix.programAddress, accounts: (ix.accounts ?? []).map((a) => a.address), data: new Uint8Array(ix.data ?? []) };
}

// ---- decoding token / memo instructions -----------------------------------------------------

export type TokenOp =
  | { kind: 'transfer'; source: Address; destination: Address; authority: Address; amount: bigint; mint: Address | null }
  | { kind: 'mintTo'; mint: Address; account: Address; authority: Address; amount: bigint }
  | { kind: 'burn'; account: Address; mint: Address; authority: Address; amount: bigint }
  | { kind: 'other'; discriminator: number };

function u64le(data: Uint8Array, offset: number): bigint | null {
  if (data.length < offset + 8) return null;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).readBigUInt64LE(offset);
}

/** Decodes the SPL Token instructions idlegrid cares about; anything else is `other`. */
export function decodeTokenIx(ix: DecodedInstruction): TokenOp | null {
  if (ix.programAddress !== TOKEN_PROGRAM) return null;
  const d = ix.data[0];
  const a = ix.accounts;
  const amount = u64le(ix.data, 1);
  if (d === undefined) return { kind: 'other', discriminator: -1 };
  const need = (n: number, len: number) => amount !== null && a.length >= n && ix.data.length === len;
  switch (d) {
    case 3:
      if (!need(3, 9)) break;
      return { kind: 'transfer', source: a[0]!, destination: a[1]!, authority: a[2]!, amount: amount!, mint: null };
    case 12:
      if (!need(4, 10)) break;
      return { kind: 'transfer', source: a[0]!, mint: a[1]!, destination: a[2]!, authority: a[3]!, amount: amount! };
    case 7:
    case 14:
      if (!need(3, d === 7 ? 9 : 10)) break;
      return { kind: 'mintTo', mint: a[0]!, account: a[1]!, authority: a[2]!, amount: amount! };
    case 8:
    case 15:
      if (!need(3, d === 8 ? 9 : 10)) break;
      return { kind: 'burn', account: a[0]!, mint: a[1]!, authority: a[2]!, amount: amount! };
    default:
      break;
  }
  return { kind: 'other', discriminator: d };
}

export function decodeMemo(ix: DecodedInstruction): string | null {
  if (ix.programAddress !== MEMO_PROGRAM) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(ix.data);
  } catch {
    return null;
  }
}

// ---- account data ---------------------------------------------------------------------------

export interface TokenAccountData {
  readonly mint: Address;
  readonly owner: Address;
  readonly amount: bigint;
}

export function parseTokenAccount(data: Uint8Array): TokenAccountData | null {
  if (data.length < TOKEN_ACCOUNT_SIZE) return null;
  const mint = base58(data.subarray(0, 32)) as Address;
  const owner = base58(data.subarray(32, 64)) as Address;
  const amount = u64le(data, 64) ?? 0n;
  return { mint, owner, amount };
}

export function parseMintSupply(data: Uint8Array): bigint | null {
  if (data.length < MINT_SIZE) return null;
  return u64le(data, 36);
}
