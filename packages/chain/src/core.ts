import { randomBytes } from 'node:crypto';
import type { Instruction } from '@solana/kit';
import { isAddress, type Address } from '@idlegrid/domain';
import type { ChainBackend } from './backend.ts';
import { assertAmount, buildDepositTransfer, checkDeposit } from './deposits.ts';
import { describeTransaction } from './describe-transaction.ts';
import { ChainError } from './errors.ts';
import {
  TOKENS,
  type Balances,
  type BatchResult,
  type ConversionBatch,
  type ChainTransaction,
  type ConservationReport,
  type DepositExpectation,
  type IdempotencyEntry,
  type IdempotencyStore,
  type Ledger,
  type LedgerInfo,
  type MintBatch,
  type PayBatch,
  type Payout,
  type ProtocolAccounts,
  type TokenSymbol,
  type VaultRole,
  type VerifiedDeposit,
} from './ledger.ts';
import {
  ASSOCIATED_TOKEN_PROGRAM,
  associatedTokenAddress,
  buildSigned,
  burnIx,
  createAtaIdempotentIx,
  createSeededAccountIx,
  digestInstructions,
  initializeMintIx,
  initializeTokenAccountIx,
  MAX_MEMO_BYTES,
  MEMO_PROGRAM,
  memoIx,
  MINT_SIZE,
  mintToIx,
  parseMintSupply,
  parseTokenAccount,
  seededAddress,
  SizeMeter,
  toDigestable,
  TOKEN_ACCOUNT_SIZE,
  TOKEN_PROGRAM,
  transferIx,
  transferSolIx,
  type SignedTransaction,
  type Lifetime,
} from './programs.ts';
import { decodeBase64Transaction, decodeTransaction, fromBase64, MAX_TRANSACTION_BYTES, toBase64, type ChainSigner } from './wire.ts';

/** At most this many transfers (or mints) per payment transaction; fewer when the memo is long. */
export const MAX_TRANSFERS_PER_TX = 20;
/**
 * Associated-token-account creations per setup transaction: each makes ~6 nested calls and a
 * transaction's instruction trace is capped at 64 entries (MaxInstructionTraceLengthExceeded).
 */
const MAX_ATA_CREATES_PER_TX = 8;
const LAMPORTS_PER_SOL = 1_000_000_000n;
/** SOL given to the embedded authority at bootstrap, for fees and rent. */
const EMBEDDED_AUTHORITY_SOL = 1_000_000n * LAMPORTS_PER_SOL;

export interface LedgerCoreOptions {
  readonly backend: ChainBackend;
  readonly authority: ChainSigner;
  readonly idempotency: IdempotencyStore;
  /** Test hooks that simulate a crash by throwing at a point of the send path. */
  readonly faults?: {
    afterRecord?(key: string, signature: string): void;
    afterSend?(key: string, signature: string): void;
  };
}

interface Chunk {
  readonly index: number;
  readonly key: string;
  readonly instructions: readonly Instruction[];
  readonly digest: string;
  /** Tokens leaving escrow (payBatch), for the pre-flight balance check. */
  readonly outflow: bigint;
  readonly recipients: ReadonlyArray<{ owner: Address; ata: Address }>;
}

/** The Ledger port, implemented once over a ChainBackend. */
export class LedgerCore implements Ledger {
  readonly backend: 'embedded' | 'rpc';
  private readonly chain: ChainBackend;
  private readonly authority: ChainSigner;
  private readonly store: IdempotencyStore;
  private readonly faults: LedgerCoreOptions['faults'];
  private infoValue: LedgerInfo | null = null;
  /** Token accounts seen to exist (skips look-ups on later batches; cleared when a send fails). */
  private readonly knownAccounts = new Set<Address>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: LedgerCoreOptions) {
    this.chain = options.backend;
    this.backend = options.backend.kind;
    this.authority = options.authority;
    this.store = options.idempotency;
    this.faults = options.faults;
  }

  /** Derives every protocol address (no chain access); called by the factories. */
  async init(): Promise<this> {
    const a = this.authority.address;
    const mints = {} as Record<TokenSymbol, Address>;
    const accounts = {} as Record<TokenSymbol, ProtocolAccounts>;
    for (const sym of TOKENS) {
      const s = sym.toLowerCase();
      mints[sym] = await seededAddress(a, `idlegrid:${s}:mint`);
      accounts[sym] = {
        escrow: await seededAddress(a, `idlegrid:${s}:escrow`),
        treasury: await seededAddress(a, `idlegrid:${s}:treasury`),
        stakeVault: await seededAddress(a, `idlegrid:${s}:stake`),
      };
    }
    this.infoValue = {
      backend: this.backend,
      authority: a,
      mints,
      accounts,
      decimals: 6,
      programs: { token: TOKEN_PROGRAM, associatedToken: ASSOCIATED_TOKEN_PROGRAM, memo: MEMO_PROGRAM },
    };
    return this;
  }

  info(): LedgerInfo {
    if (!this.infoValue) throw new ChainError('CHAIN_NOT_BOOTSTRAPPED', 'The ledger was not initialised; open it with openEmbeddedLedger or openRpcLedger');
    return this.infoValue;
  }

  // ---- serialisation of operations ------------------------------------------------------------

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ChainError('CHAIN_CLOSED', 'The ledger is closed'));
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs a mutating operation and persists the chain afterwards, whether it succeeded or not. */
  private mutate<T>(fn: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      try {
        return await fn();
      } finally {
        await this.chain.persist();
      }
    });
  }

  // ---- bootstrap ------------------------------------------------------------------------------

  bootstrap(): Promise<LedgerInfo> {
    return this.mutate(async () => {
      const info = this.info();
      const a = info.authority;
      if (this.chain.kind === 'embedded') {
        const acc = await this.chain.account(a);
        if ((acc?.lamports ?? 0n) < 1000n * LAMPORTS_PER_SOL) await this.chain.airdropSol(a, EMBEDDED_AUTHORITY_SOL);
      }
      const mintRent = await this.chain.rentExempt(MINT_SIZE);
      const accountRent = await this.chain.rentExempt(TOKEN_ACCOUNT_SIZE);
      for (const sym of TOKENS) {
        const s = sym.toLowerCase();
        const mint = info.mints[sym];
        const existing = await this.chain.account(mint);
        if (!existing) {
          await this.send([createSeededAccountIx(a, mint, `idlegrid:${s}:mint`, mintRent, MINT_SIZE), initializeMintIx(mint, a)], `bootstrap ${sym} mint`);
        } else if (existing.owner !== TOKEN_PROGRAM || parseMintSupply(existing.data) === null) {
          throw new ChainError('CHAIN_STATE_CORRUPT', `Account ${mint} exists but is not an SPL mint`, { address: mint });
        }
        const ixs: Instruction[] = [];
        for (const [role, seed] of [['escrow', 'escrow'], ['treasury', 'treasury'], ['stakeVault', 'stake']] as const) {
          const addr = info.accounts[sym][role];
          const acc = await this.chain.account(addr);
          if (!acc) {
            ixs.push(createSeededAccountIx(a, addr, `idlegrid:${s}:${seed}`, accountRent, TOKEN_ACCOUNT_SIZE), initializeTokenAccountIx(addr, mint, a));
          } else {
            const t = parseTokenAccount(acc.data);
            if (acc.owner !== TOKEN_PROGRAM || t?.mint !== mint || t.owner !== a) {
              throw new ChainError('CHAIN_STATE_CORRUPT', `Account ${addr} is not the ${sym} ${role} token account of ${a}`, { address: addr });
            }
          }
        }
        if (ixs.length > 0) await this.send(ixs, `bootstrap ${sym} accounts`);
      }
      return info;
    });
  }

  // ---- reads ----------------------------------------------------------------------------------

  async balances(owner: Address): Promise<Balances> {
    assertAddr(owner, 'owner');
    const info = this.info();
    const [ioAta, usdcAta] = await Promise.all([associatedTokenAddress(owner, info.mints.IO), associatedTokenAddress(owner, info.mints.USDC)]);
    const [wallet, io, usdc] = await this.chain.accounts([owner, ioAta, usdcAta]);
    return {
      sol: wallet?.lamports ?? 0n,
      io: (io && parseTokenAccount(io.data)?.amount) ?? 0n,
      usdc: (usdc && parseTokenAccount(usdc.data)?.amount) ?? 0n,
    };
  }

  async tokenAccountBalance(account: Address): Promise<bigint> {
    const acc = await this.chain.account(account);
    return (acc && parseTokenAccount(acc.data)?.amount) ?? 0n;
  }

  async supply(mint: TokenSymbol): Promise<bigint> {
    const acc = await this.chain.account(this.info().mints[mint]);
    const supply = acc ? parseMintSupply(acc.data) : null;
    if (supply === null) throw new ChainError('CHAIN_NOT_BOOTSTRAPPED', `The ${mint} mint does not exist yet; run bootstrap()`, { mint });
    return supply;
  }

  async conservation(mint: TokenSymbol = 'IO'): Promise<ConservationReport> {
    const address = this.info().mints[mint];
    const [supply, accounts, totals] = await Promise.all([this.supply(mint), this.chain.tokenAccountsOfMint(address), this.chain.mintBurnTotals(address)]);
    const accountsTotal = accounts.reduce((sum, a) => sum + a.amount, 0n);
    const ok = supply === accountsTotal && (totals === null || totals.minted - totals.burned === supply);
    return { mint, supply, accountsTotal, tokenAccounts: accounts.length, minted: totals?.minted ?? null, burned: totals?.burned ?? null, ok };
  }

  findByMemo(memo: string): Promise<string[]> {
    return this.chain.signaturesByMemo(memo, this.info().authority);
  }

  async getTransaction(signature: string): Promise<ChainTransaction | null> {
    const raw = await this.chain.rawTransaction(signature);
    return raw ? describeTransaction(raw, this.info(), this.chain) : null;
  }

  // ---- airdrop, deposits, anchors --------------------------------------------------------------

  async airdrop(owner: Address, amounts: { sol?: bigint; io?: bigint; usdc?: bigint }): Promise<void> {
    if (this.chain.kind !== 'embedded') {
      throw new ChainError('CHAIN_AIRDROP_UNAVAILABLE', 'Airdrops exist only on the embedded network; fund the wallet on the real cluster instead', { backend: this.chain.kind });
    }
    assertAddr(owner, 'owner');
    await this.mutate(async () => {
      const info = this.info();
      const ixs: Instruction[] = [];
      // SOL comes from the authority (funded by LiteSVM's faucet at bootstrap) so that every
      // airdrop is an ordinary, journaled transaction made unique by its memo.
      if (amounts.sol !== undefined && amounts.sol !== 0n) {
        assertAmount(amounts.sol, 'SOL airdrop');
        ixs.push(transferSolIx(info.authority, owner, amounts.sol));
      }
      for (const [sym, amount] of [['IO', amounts.io], ['USDC', amounts.usdc]] as const) {
        if (amount === undefined || amount === 0n) continue;
        assertAmount(amount, `${sym} airdrop`);
        const ata = await associatedTokenAddress(owner, info.mints[sym]);
        ixs.push(createAtaIdempotentIx(info.authority, ata, owner, info.mints[sym]), mintToIx(info.mints[sym], ata, info.authority, amount));
      }
      if (ixs.length > 0) await this.send([memoIx(`idlegrid:airdrop:${randomBytes(8).toString('hex')}`), ...ixs], 'airdrop');
    });
  }

  async buildDepositTransaction(payer: ChainSigner, mint: TokenSymbol, amount: bigint, destination: VaultRole = 'escrow'): Promise<string> {
    const info = this.info();
    return buildDepositTransfer(payer, { mint: info.mints[mint], escrow: info.accounts[mint][destination], amount, lifetime: await this.chain.lifetime() });
  }

  recentBlockhash(): Promise<Lifetime> {
    return this.chain.lifetime();
  }

  verifyDeposit(signedTxBase64: string, expected: DepositExpectation): Promise<VerifiedDeposit> {
    return this.exclusive(async () => {
      const info = this.info();
      const tx = decodeBase64Transaction(signedTxBase64);
      const check = await checkDeposit(tx, expected, info);
      const status = await this.chain.status(tx.signature);
      if (status) {
        throw new ChainError('CHAIN_DEPOSIT_REPLAY', `Deposit ${tx.signature} was already submitted`, {
          signature: tx.signature, amount: check.amount.toString(), slot: status.slot.toString(), err: status.err,
        });
      }
      let outcome;
      try {
        outcome = await this.chain.submit({ signature: tx.signature, wire: fromBase64(signedTxBase64.trim()), blockhash: tx.recentBlockhash, lastValidBlockHeight: -1n });
      } finally {
        await this.chain.persist();
      }
      if (!outcome.landed) throw new ChainError('CHAIN_DEPOSIT_FAILED', `Deposit ${tx.signature} did not land: ${outcome.reason}`, { signature: tx.signature, reason: outcome.reason });
      if (outcome.err !== null) throw new ChainError('CHAIN_DEPOSIT_FAILED', `Deposit ${tx.signature} failed on chain: ${outcome.err}`, { signature: tx.signature, err: outcome.err });
      return { signature: tx.signature, amount: check.amount, mint: expected.mint, from: expected.from, slot: outcome.slot };
    });
  }

  async anchor(memo: string): Promise<string> {
    assertMemo(memo);
    return await this.mutate(async () => (await this.send([memoIx(memo)], 'anchor')).signature);
  }

  // ---- batches ----------------------------------------------------------------------------------

  async payBatch(batch: PayBatch): Promise<BatchResult> {
    assertBatchHead(batch.id, batch.memo, batch.mint);
    const burn = batch.burn ?? 0n;
    const treasury = batch.treasury ?? 0n;
    if (burn < 0n || treasury < 0n) throw new ChainError('CHAIN_INVALID_BATCH', 'burn and treasury must not be negative', { id: batch.id });
    batch.transfers.forEach(assertPayout);
    if (batch.transfers.length === 0 && burn === 0n && treasury === 0n) throw new ChainError('CHAIN_INVALID_BATCH', `Batch ${batch.id} moves nothing`, { id: batch.id });
    return await this.mutate(async () => {
      const info = this.info();
      const a = info.authority;
      const escrow = info.accounts[batch.mint][batch.source ?? 'escrow'];
      const mint = info.mints[batch.mint];
      const head: Instruction[] = [];
      let headOutflow = 0n;
      if (treasury > 0n) {
        head.push(transferIx(escrow, info.accounts[batch.mint].treasury, a, treasury));
        headOutflow += treasury;
      }
      if (burn > 0n) {
        head.push(burnIx(escrow, mint, a, burn));
        headOutflow += burn;
      }
      const chunks = await this.plan('pay', batch.id, batch.memo, head, headOutflow, batch.transfers, mint, (ata, p) => transferIx(escrow, ata, a, p.amount));
      return this.runBatch(batch.id, batch.memo, chunks, mint, escrow);
    });
  }

  async mintTo(batch: MintBatch): Promise<BatchResult> {
    assertBatchHead(batch.id, batch.memo, batch.mint);
    batch.mints.forEach(assertPayout);
    const treasury = batch.treasury ?? 0n;
    if (treasury < 0n) throw new ChainError('CHAIN_INVALID_BATCH', `Batch ${batch.id}: the treasury amount must not be negative`, { id: batch.id });
    if (batch.mints.length === 0 && treasury === 0n) throw new ChainError('CHAIN_INVALID_BATCH', `Batch ${batch.id} mints nothing`, { id: batch.id });
    return await this.mutate(async () => {
      const info = this.info();
      const mint = info.mints[batch.mint];
      const head = treasury > 0n ? [mintToIx(mint, info.accounts[batch.mint].treasury, info.authority, treasury)] : [];
      const chunks = await this.plan('mint', batch.id, batch.memo, head, 0n, batch.mints, mint, (ata, p) => mintToIx(mint, ata, info.authority, p.amount));
      return this.runBatch(batch.id, batch.memo, chunks, mint, null);
    });
  }

  async convertDeposit(batch: ConversionBatch): Promise<BatchResult> {
    assertBatchHead(batch.id, batch.memo, 'USDC');
    assertAmount(batch.usdc, 'conversion USDC');
    if (batch.io < 0n) throw new ChainError('CHAIN_INVALID_BATCH', 'the IO of a conversion must not be negative', { id: batch.id });
    return await this.mutate(async () => {
      const info = this.info();
      const a = info.authority;
      const head: Instruction[] = [transferIx(info.accounts.USDC.escrow, info.accounts.USDC.treasury, a, batch.usdc)];
      if (batch.io > 0n) head.push(mintToIx(info.mints.IO, info.accounts.IO.escrow, a, batch.io));
      const chunks = await this.plan('convert', batch.id, batch.memo, head, batch.usdc, [], info.mints.IO, () => {
        throw new Error('a conversion has no per-recipient items');
      });
      return this.runBatch(batch.id, batch.memo, chunks, info.mints.IO, info.accounts.USDC.escrow);
    });
  }

  /**
   * Splits a batch into transactions deterministically (from its content only): every chunk starts
   * with the memo, the first also carries `head` (treasury, burn); chunks take items while they
   * fit in 1232 bytes and at most MAX_TRANSFERS_PER_TX.
   */
  private async plan(kind: 'pay' | 'mint' | 'convert', id: string, memo: string, head: readonly Instruction[], headOutflow: bigint, items: readonly Payout[], mint: Address, itemIx: (ata: Address, p: Payout) => Instruction): Promise<Chunk[]> {
    const a = this.info().authority;
    const atas = await Promise.all(items.map((p) => associatedTokenAddress(p.to, mint)));
    const memoInstruction = memoIx(memo);
    const chunks: Chunk[] = [];
    let i = 0;
    do {
      const ixs: Instruction[] = [memoInstruction, ...(chunks.length === 0 ? head : [])];
      const meter = new SizeMeter(a);
      meter.add(ixs);
      if (meter.size > MAX_TRANSACTION_BYTES) throw new ChainError('CHAIN_INVALID_BATCH', `The memo of batch ${id} is too long to fit a transaction`, { id });
      let outflow = chunks.length === 0 ? headOutflow : 0n;
      const recipients: Array<{ owner: Address; ata: Address }> = [];
      let count = 0;
      while (i < items.length && count < MAX_TRANSFERS_PER_TX) {
        const p = items[i]!;
        const ata = atas[i]!;
        const ix = itemIx(ata, p);
        if (meter.sizeWith([ix]) > MAX_TRANSACTION_BYTES) break;
        meter.add([ix]);
        ixs.push(ix);
        outflow += p.amount;
        recipients.push({ owner: p.to, ata });
        count++;
        i++;
      }
      if (count === 0 && i < items.length) throw new ChainError('CHAIN_INVALID_BATCH', `Batch ${id}: a transfer does not fit beside the memo`, { id });
      chunks.push({ index: chunks.length, key: '', instructions: ixs, digest: digestInstructions(ixs.map(toDigestable)), outflow, recipients });
    } while (i < items.length);
    return chunks.map((c) => ({ ...c, key: `${kind}:${id}:${c.index}` }));
  }

  private async runBatch(id: string, memo: string, chunks: readonly Chunk[], mint: Address, escrow: Address | null): Promise<BatchResult> {
    // 1. What is already known about each chunk: a record in the caller's store, and whether it landed.
    const entries = await Promise.all(chunks.map((c) => this.store.get(c.key)));
    const landed: Array<string | null> = chunks.map(() => null);
    const resendable: Array<IdempotencyEntry | null> = chunks.map(() => null);
    for (const [i, c] of chunks.entries()) {
      const entry = entries[i];
      if (!entry) continue;
      if (entry.digest !== c.digest) {
        throw new ChainError('CHAIN_BATCH_CONFLICT', `Batch ${id} chunk ${c.index} was recorded with different content; a batch id must never be reused for other payments`, { id, chunk: c.index });
      }
      // Expiry is read before the status so that "expired and not found" means it can never land.
      const valid = await this.chain.lifetimeValid({ blockhash: entry.blockhash, lastValidBlockHeight: BigInt(entry.lastValidBlockHeight) });
      const status = await this.chain.status(entry.signature);
      if (status && status.err === null) landed[i] = entry.signature;
      else if (!status && valid) resendable[i] = entry;
      // landed with an error (no effect, atomic) or expired without landing: rebuilt below.
    }
    // 2. Chunks without a record may still have landed (the record was lost): look them up by memo.
    if (chunks.some((c, i) => !entries[i] && landed[i] === null)) {
      const byDigest = new Map<string, string>();
      for (const sig of await this.chain.signaturesByMemo(memo, this.info().authority)) {
        const raw = await this.chain.rawTransaction(sig);
        if (!raw || raw.err !== null) continue;
        byDigest.set(digestInstructions(decodeTransaction(raw.wire).instructions), sig);
      }
      for (const [i, c] of chunks.entries()) {
        const sig = byDigest.get(c.digest);
        if (landed[i] === null && sig) landed[i] = sig;
      }
    }
    const pending = chunks.filter((_, i) => landed[i] === null);
    const recovered = chunks.length - pending.length;
    // 3. Pre-flight: escrow must cover everything still to send, so a batch never half-pays for lack of funds.
    if (escrow !== null && pending.length > 0) {
      const need = pending.reduce((sum, c) => sum + c.outflow, 0n);
      const have = await this.tokenAccountBalance(escrow);
      if (have < need) {
        throw new ChainError('CHAIN_INSUFFICIENT_ESCROW', `Escrow holds ${have}, batch ${id} needs ${need}`, { id, have: have.toString(), need: need.toString() });
      }
    }
    // 4. Recipients' associated token accounts, created idempotently where missing.
    const setupSignatures = await this.ensureAtas(pending.flatMap((c) => c.recipients), mint);
    // 5. Send each pending chunk: the identical recorded bytes when they can still land, else a new
    //    transaction that is recorded before it is sent.
    const signatures: string[] = [];
    for (const [i, c] of chunks.entries()) {
      const done = landed[i];
      if (done) {
        signatures.push(done);
        continue;
      }
      let tx: SignedTransaction;
      const prior = resendable[i];
      if (prior) {
        tx = { signature: prior.signature, wire: fromBase64(prior.transaction), blockhash: prior.blockhash, lastValidBlockHeight: BigInt(prior.lastValidBlockHeight) };
      } else {
        tx = buildSigned(this.authority, c.instructions, await this.chain.lifetime());
        await this.store.put(c.key, {
          signature: tx.signature, transaction: toBase64(tx.wire), blockhash: tx.blockhash, lastValidBlockHeight: tx.lastValidBlockHeight.toString(), digest: c.digest,
        });
        this.faults?.afterRecord?.(c.key, tx.signature);
      }
      const outcome = await this.chain.submit(tx);
      this.faults?.afterSend?.(c.key, tx.signature);
      if (!outcome.landed || outcome.err !== null) {
        this.knownAccounts.clear(); // a recipient may have closed its token account
        const reason = outcome.landed ? outcome.err : outcome.reason;
        throw new ChainError('CHAIN_SEND_FAILED', `Batch ${id} chunk ${c.index + 1}/${chunks.length} (${tx.signature}) failed: ${reason}; re-run the batch to resume`, {
          id, chunk: c.index, signature: tx.signature, reason,
        });
      }
      signatures.push(tx.signature);
    }
    return { id, signatures, setupSignatures, recovered };
  }

  private async ensureAtas(recipients: ReadonlyArray<{ owner: Address; ata: Address }>, mint: Address): Promise<string[]> {
    const unique = [...new Map(recipients.filter((r) => !this.knownAccounts.has(r.ata)).map((r) => [r.ata, r])).values()];
    const missing: Array<{ owner: Address; ata: Address }> = [];
    for (let i = 0; i < unique.length; i += 100) {
      const slice = unique.slice(i, i + 100);
      const accounts = await this.chain.accounts(slice.map((r) => r.ata));
      slice.forEach((r, j) => {
        if (!accounts[j]) missing.push(r);
        else this.rememberAccount(r.ata);
      });
    }
    const a = this.info().authority;
    const signatures: string[] = [];
    let k = 0;
    while (k < missing.length) {
      const meter = new SizeMeter(a);
      const ixs: Instruction[] = [];
      while (k < missing.length && ixs.length < MAX_ATA_CREATES_PER_TX) {
        const r = missing[k]!;
        const ix = createAtaIdempotentIx(a, r.ata, r.owner, mint);
        if (ixs.length > 0 && meter.sizeWith([ix]) > MAX_TRANSACTION_BYTES) break;
        meter.add([ix]);
        ixs.push(ix);
        k++;
      }
      signatures.push((await this.send(ixs, 'create token accounts')).signature);
    }
    for (const r of missing) this.rememberAccount(r.ata);
    return signatures;
  }

  private rememberAccount(account: Address): void {
    if (this.knownAccounts.size > 1_000_000) this.knownAccounts.clear();
    this.knownAccounts.add(account);
  }

  /** Builds, signs and sends a non-idempotent transaction signed by the authority; throws unless it succeeded. */
  private async send(ixs: readonly Instruction[], what: string): Promise<SignedTransaction> {
    const tx = buildSigned(this.authority, ixs, await this.chain.lifetime());
    const outcome = await this.chain.submit(tx);
    if (!outcome.landed || outcome.err !== null) {
      const reason = outcome.landed ? outcome.err : outcome.reason;
      throw new ChainError('CHAIN_SEND_FAILED', `${what} failed (${tx.signature}): ${reason}`, { signature: tx.signature, reason });
    }
    return tx;
  }

  close(): Promise<void> {
    return this.exclusive(async () => {
      this.closed = true;
      await this.chain.persist();
      await this.chain.close();
    });
  }
}

function assertAddr(value: string, what: string): void {
  if (!isAddress(value)) throw new ChainError('CHAIN_INVALID_BATCH', `${what} is not a Solana address: ${value}`, { value });
}

function assertMemo(memo: string): void {
  const bytes = Buffer.byteLength(memo, 'utf8');
  if (bytes === 0 || bytes > MAX_MEMO_BYTES) throw new ChainError('CHAIN_INVALID_BATCH', `A memo must be 1–${MAX_MEMO_BYTES} bytes, got ${bytes}`, { bytes });
}

function assertBatchHead(id: string, memo: string, mint: TokenSymbol): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > 120) throw new ChainError('CHAIN_INVALID_BATCH', 'A batch id must be 1–120 characters', { id });
  if (!TOKENS.includes(mint)) throw new ChainError('CHAIN_INVALID_BATCH', `Unknown token ${String(mint)}`, { mint });
  assertMemo(memo);
}

function assertPayout(p: Payout): void {
  assertAddr(p.to, 'recipient');
  assertAmount(p.amount, 'payout');
}
