import { mkdirSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { address as kitAddress, lamports as kitLamports, type Transaction } from '@solana/kit';
import { Clock as SvmClock, FailedTransactionMetadata, LiteSVM } from 'litesvm';
import type { Address, Clock } from '@idlegrid/domain';
import type { AccountInfo, ChainBackend, LandedStatus, RawTransaction, SubmitOutcome } from '../backend.ts';
import { ChainError } from '../errors.ts';
import { decodeMemo, decodeTokenIx, parseTokenAccount, TOKEN_ACCOUNT_SIZE, TOKEN_PROGRAM, type Lifetime } from '../programs.ts';
import { decodeTransaction, fromBase64, toBase64, type DecodedTransaction } from '../wire.ts';

const SNAPSHOT_FILE = 'chain.snapshot';
const JOURNAL_FILE = 'chain.journal';
const MAGIC = Buffer.from('IGCHAIN1', 'ascii');
/** A blockhash on LiteSVM lives until expireBlockhash(); this stands in for "no block height limit". */
const EMBEDDED_LAST_VALID = 2n ** 62n;

/** One line of the journal: every transaction that landed on the embedded chain, in order. */
interface JournalRecord {
  /** signature (base58) */
  s: string;
  /** signed wire transaction (base64) */
  t: string;
  slot: string;
  /** unix seconds of the slot */
  time: number;
  err: string | null;
}

interface SnapshotHeader {
  v: 1;
  journalCount: number;
  journalBytes: number;
  minted: Record<string, string>;
  burned: Record<string, string>;
  baseSlot: string;
  baseMs: number;
}

export interface EmbeddedBackendOptions {
  /** Where the snapshot and journal live; null keeps everything in memory. */
  readonly dataDir: string | null;
  readonly clock: Clock;
  /** LiteSVM's own transaction history (its duplicate check); the journal is the durable one. */
  readonly transactionHistory?: bigint;
  /** Slot length used to turn the injected clock into slots (default 400 ms, as on Solana). */
  readonly slotMs?: number;
}

/**
 * LiteSVM in-process. Durability: every landed transaction is appended to `chain.journal`
 * (JSON lines, fsynced), then the full LiteSVM state (`toBytes()`: accounts, sysvars, history)
 * is written with a small header to `chain.snapshot.tmp`, fsynced and renamed over
 * `chain.snapshot`. The header records how many journal records (and bytes) the snapshot
 * includes; on open, journal lines past that point (a crash between the two writes) are cut, so
 * the journal and the state always agree. The journal is the signature→status index (our own
 * duplicate check, since a transaction evicted from LiteSVM's history would execute again), the
 * source of getTransaction (LiteSVM keeps metadata, not the message) and of memo lookups.
 */
export class EmbeddedBackend implements ChainBackend {
  readonly kind = 'embedded' as const;
  private svm: LiteSVM;
  private readonly journal: JournalRecord[] = [];
  private readonly bySignature = new Map<string, number>();
  private readonly byMemo = new Map<string, number[]>();
  private readonly minted = new Map<string, bigint>();
  private readonly burned = new Map<string, bigint>();
  private unflushed: string[] = [];
  private journalBytes = 0;
  private baseSlot: bigint;
  private baseMs: number;
  private dirty = false;

  constructor(private readonly options: EmbeddedBackendOptions) {
    const history = options.transactionHistory ?? 20_000n;
    const dir = options.dataDir;
    const snapshotPath = dir ? join(dir, SNAPSHOT_FILE) : null;
    if (dir) mkdirSync(dir, { recursive: true });
    if (snapshotPath && existsSync(snapshotPath)) {
      const { header, state } = readSnapshot(snapshotPath);
      this.svm = LiteSVM.fromBytes(state).withTransactionHistory(history);
      this.baseSlot = BigInt(header.baseSlot);
      this.baseMs = header.baseMs;
      for (const [k, v] of Object.entries(header.minted)) this.minted.set(k, BigInt(v));
      for (const [k, v] of Object.entries(header.burned)) this.burned.set(k, BigInt(v));
      this.loadJournal(join(dir!, JOURNAL_FILE), header);
    } else {
      this.svm = new LiteSVM().withLamports(10n ** 18n).withTransactionHistory(history).withSigverify(true).withBlockhashCheck(true);
      this.baseSlot = this.svm.getClock().slot;
      this.baseMs = options.clock.now();
      this.dirty = true;
    }
  }

  private loadJournal(path: string, header: SnapshotHeader): void {
    if (!existsSync(path)) {
      if (header.journalCount === 0) return;
      throw new ChainError('CHAIN_STATE_CORRUPT', `The embedded chain journal ${path} is missing`, { path });
    }
    const bytes = readFileSync(path);
    if (bytes.length < header.journalBytes) {
      throw new ChainError('CHAIN_STATE_CORRUPT', `The embedded chain journal ${path} is shorter than the snapshot says`, { path });
    }
    // Records past the snapshot belong to a state that was never saved: drop them.
    if (bytes.length > header.journalBytes) truncateSync(path, header.journalBytes);
    const text = bytes.subarray(0, header.journalBytes).toString('utf8');
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      this.index(JSON.parse(line) as JournalRecord);
    }
    if (this.journal.length !== header.journalCount) {
      throw new ChainError('CHAIN_STATE_CORRUPT', `The embedded chain journal holds ${this.journal.length} records, the snapshot expects ${header.journalCount}`, { path });
    }
    this.journalBytes = header.journalBytes;
  }

  private index(record: JournalRecord, decoded?: DecodedTransaction): void {
    const i = this.journal.length;
    this.journal.push(record);
    this.bySignature.set(record.s, i);
    const tx = decoded ?? decodeTransaction(fromBase64(record.t));
    for (const ix of tx.instructions) {
      const memo = decodeMemo(ix);
      if (memo !== null) {
        const list = this.byMemo.get(memo);
        if (list) list.push(i);
        else this.byMemo.set(memo, [i]);
      }
    }
  }

  private tally(tx: DecodedTransaction): void {
    for (const ix of tx.instructions) {
      const op = decodeTokenIx(ix);
      if (op?.kind === 'mintTo') this.minted.set(op.mint, (this.minted.get(op.mint) ?? 0n) + op.amount);
      else if (op?.kind === 'burn') this.burned.set(op.mint, (this.burned.get(op.mint) ?? 0n) + op.amount);
    }
  }

  /** Moves LiteSVM's clock to the injected clock (monotonic: never backwards). */
  private syncClock(): void {
    const now = this.options.clock.now();
    const c = this.svm.getClock();
    const slotMs = this.options.slotMs ?? 400;
    const elapsed = BigInt(Math.max(0, Math.floor((now - this.baseMs) / slotMs)));
    const slot = this.baseSlot + elapsed > c.slot ? this.baseSlot + elapsed : c.slot;
    let unix = BigInt(Math.floor(now / 1000));
    if (unix < c.unixTimestamp) unix = c.unixTimestamp;
    if (slot !== c.slot || unix !== c.unixTimestamp) {
      this.svm.setClock(new SvmClock(slot, c.epochStartTimestamp, c.epoch, c.leaderScheduleEpoch, unix));
    }
  }

  lifetime(): Promise<Lifetime> {
    return Promise.resolve({ blockhash: this.svm.latestBlockhash(), lastValidBlockHeight: EMBEDDED_LAST_VALID });
  }

  lifetimeValid(lifetime: Lifetime): Promise<boolean> {
    return Promise.resolve(lifetime.blockhash === this.svm.latestBlockhash());
  }

  /** Expires the current blockhash (what a real cluster does every slot); for tests. */
  expireBlockhash(): void {
    this.svm.expireBlockhash();
    this.dirty = true;
  }

  submit(tx: { signature: string; wire: Uint8Array }): Promise<SubmitOutcome> {
    const seen = this.bySignature.get(tx.signature);
    if (seen !== undefined) {
      const r = this.journal[seen]!;
      return Promise.resolve({ landed: true, slot: BigInt(r.slot), err: r.err });
    }
    let decoded;
    try {
      decoded = decodeTransaction(tx.wire);
    } catch (e) {
      return Promise.resolve({ landed: false, reason: (e as Error).message });
    }
    this.syncClock();
    const signatures: Record<string, Uint8Array> = {};
    decoded.accountKeys.slice(0, decoded.numSigners).forEach((key, i) => {
      signatures[key] = decoded.signatures[i]!;
    });
    const kitTx = { messageBytes: decoded.messageBytes, signatures } as unknown as Transaction;
    const payerBefore = this.svm.getBalance(kitAddress(decoded.feePayer)) ?? 0n;
    let result;
    try {
      result = this.svm.sendTransaction(kitTx);
    } catch (e) {
      return Promise.resolve({ landed: false, reason: (e as Error).message });
    }
    let err: string | null = null;
    if (result instanceof FailedTransactionMetadata) {
      err = describeError(result.err());
      // A failure before execution (bad blockhash, signature, duplicate, no fee) never landed:
      // nothing was charged. One during execution charged the fee, like a real cluster.
      const payerAfter = this.svm.getBalance(kitAddress(decoded.feePayer)) ?? 0n;
      if (payerAfter === payerBefore) return Promise.resolve({ landed: false, reason: err });
    }
    const slot = this.svm.getClock().slot;
    const record: JournalRecord = { s: tx.signature, t: toBase64(tx.wire), slot: slot.toString(), time: Number(this.svm.getClock().unixTimestamp), err };
    this.index(record, decoded);
    if (err === null) this.tally(decoded);
    this.unflushed.push(`${JSON.stringify(record)}\n`);
    this.dirty = true;
    return Promise.resolve({ landed: true, slot, err });
  }

  status(signature: string): Promise<LandedStatus | null> {
    const i = this.bySignature.get(signature);
    if (i === undefined) return Promise.resolve(null);
    const r = this.journal[i]!;
    return Promise.resolve({ slot: BigInt(r.slot), err: r.err });
  }

  account(addr: Address): Promise<AccountInfo | null> {
    return Promise.resolve(this.accountSync(addr));
  }

  private accountSync(addr: Address): AccountInfo | null {
    const acc = this.svm.getAccount(kitAddress(addr));
    if (!acc.exists) return null;
    if (acc.lamports === 0n && acc.data.length === 0) return null;
    return { lamports: acc.lamports, owner: acc.programAddress as string as Address, data: new Uint8Array(acc.data) };
  }

  accounts(addresses: readonly Address[]): Promise<Array<AccountInfo | null>> {
    return Promise.resolve(addresses.map((a) => this.accountSync(a)));
  }

  rawTransaction(signature: string): Promise<RawTransaction | null> {
    const i = this.bySignature.get(signature);
    if (i === undefined) return Promise.resolve(null);
    const r = this.journal[i]!;
    return Promise.resolve({ wire: fromBase64(r.t), slot: BigInt(r.slot), blockTime: r.time, err: r.err });
  }

  signaturesByMemo(memo: string): Promise<string[]> {
    return Promise.resolve((this.byMemo.get(memo) ?? []).map((i) => this.journal[i]!.s));
  }

  tokenAccountsOfMint(mint: Address): Promise<Array<{ address: Address; amount: bigint }>> {
    const out: Array<{ address: Address; amount: bigint }> = [];
    for (const acc of this.svm.getProgramAccounts(kitAddress(TOKEN_PROGRAM))) {
      if (acc.data.length !== TOKEN_ACCOUNT_SIZE) continue;
      const t = parseTokenAccount(new Uint8Array(acc.data));
      if (t?.mint === mint) out.push({ address: acc.address as string as Address, amount: t.amount });
    }
    return Promise.resolve(out);
  }

  mintBurnTotals(mint: Address): Promise<{ minted: bigint; burned: bigint }> {
    return Promise.resolve({ minted: this.minted.get(mint) ?? 0n, burned: this.burned.get(mint) ?? 0n });
  }

  rentExempt(space: number): Promise<bigint> {
    return Promise.resolve(this.svm.minimumBalanceForRentExemption(BigInt(space)));
  }

  airdropSol(to: Address, amount: bigint): Promise<void> {
    this.syncClock();
    const result = this.svm.airdrop(kitAddress(to), kitLamports(amount));
    if (result === null || result instanceof FailedTransactionMetadata) {
      return Promise.reject(new ChainError('CHAIN_SEND_FAILED', `Airdrop of ${amount} lamports to ${to} failed: ${result ? describeError(result.err()) : 'no result'}`, { to }));
    }
    this.dirty = true;
    return Promise.resolve();
  }

  /** Snapshot byte size and journal length, for reports. */
  stats(): { transactions: number; journalBytes: number } {
    return { transactions: this.journal.length, journalBytes: this.journalBytes + this.unflushed.reduce((n, l) => n + Buffer.byteLength(l), 0) };
  }

  async persist(): Promise<void> {
    const dir = this.options.dataDir;
    if (!dir || (!this.dirty && this.unflushed.length === 0)) return;
    const journalPath = join(dir, JOURNAL_FILE);
    if (this.unflushed.length > 0) {
      const text = this.unflushed.join('');
      const fh = await open(journalPath, 'a');
      try {
        await fh.write(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      this.journalBytes += Buffer.byteLength(text);
      this.unflushed = [];
    }
    const header: SnapshotHeader = {
      v: 1,
      journalCount: this.journal.length,
      journalBytes: this.journalBytes,
      minted: Object.fromEntries([...this.minted].map(([k, v]) => [k, v.toString()])),
      burned: Object.fromEntries([...this.burned].map(([k, v]) => [k, v.toString()])),
      baseSlot: this.baseSlot.toString(),
      baseMs: this.baseMs,
    };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const state = this.svm.toBytes();
    const len = Buffer.alloc(4);
    len.writeUInt32LE(headerBytes.length);
    const tmp = join(dir, `${SNAPSHOT_FILE}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writev([MAGIC, len, headerBytes, state]);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, SNAPSHOT_FILE));
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    this.dirty = false;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function readSnapshot(path: string): { header: SnapshotHeader; state: Uint8Array } {
  const bytes = readFileSync(path);
  if (bytes.length < 12 || !bytes.subarray(0, 8).equals(MAGIC)) {
    throw new ChainError('CHAIN_STATE_CORRUPT', `${path} is not an idlegrid embedded chain snapshot`, { path });
  }
  const headerLength = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8')) as SnapshotHeader;
  if (header.v !== 1) throw new ChainError('CHAIN_STATE_CORRUPT', `${path} has unknown version ${String(header.v)}`, { path });
  return { header, state: new Uint8Array(bytes.subarray(12 + headerLength)) };
}

const FIELDLESS_ERRORS = [
  'AccountInUse', 'AccountLoadedTwice', 'AccountNotFound', 'ProgramAccountNotFound',
  'InsufficientFundsForFee', 'InvalidAccountForFee', 'AlreadyProcessed', 'BlockhashNotFound',
  'CallChainTooDeep', 'MissingSignatureForFee', 'InvalidAccountIndex', 'SignatureFailure',
  'InvalidProgramForExecution', 'SanitizeFailure', 'ClusterMaintenance', 'AccountBorrowOutstanding',
  'WouldExceedMaxBlockCostLimit', 'UnsupportedVersion', 'InvalidWritableAccount',
  'WouldExceedMaxAccountCostLimit', 'WouldExceedAccountDataBlockLimit', 'TooManyAccountLocks',
  'AddressLookupTableNotFound', 'InvalidAddressLookupTableOwner', 'InvalidAddressLookupTableData',
  'InvalidAddressLookupTableIndex', 'InvalidRentPayingAccount', 'WouldExceedMaxVoteCostLimit',
  'WouldExceedAccountDataTotalLimit', 'MaxLoadedAccountsDataSizeExceeded', 'ResanitizationNeeded',
  'InvalidLoadedAccountsDataSizeLimit', 'UnbalancedTransaction', 'ProgramCacheHitMaxLimit',
  'CommitCancelled',
];

const INSTRUCTION_ERRORS = [
  'GenericError', 'InvalidArgument', 'InvalidInstructionData', 'InvalidAccountData', 'AccountDataTooSmall',
  'InsufficientFunds', 'IncorrectProgramId', 'MissingRequiredSignature', 'AccountAlreadyInitialized',
  'UninitializedAccount', 'UnbalancedInstruction', 'ModifiedProgramId', 'ExternalAccountLamportSpend',
  'ExternalAccountDataModified', 'ReadonlyLamportChange', 'ReadonlyDataModified', 'DuplicateAccountIndex',
  'ExecutableModified', 'RentEpochModified', 'NotEnoughAccountKeys', 'AccountDataSizeChanged',
  'AccountNotExecutable', 'AccountBorrowFailed', 'AccountBorrowOutstanding', 'DuplicateAccountOutOfSync',
  'InvalidError', 'ExecutableDataModified', 'ExecutableLamportChange', 'ExecutableAccountNotRentExempt',
  'UnsupportedProgramId', 'CallDepth', 'MissingAccount', 'ReentrancyNotAllowed', 'MaxSeedLengthExceeded',
  'InvalidSeeds', 'InvalidRealloc', 'ComputationalBudgetExceeded', 'PrivilegeEscalation',
  'ProgramEnvironmentSetupFailure', 'ProgramFailedToComplete', 'ProgramFailedToCompile', 'Immutable',
  'IncorrectAuthority', 'AccountNotRentExempt', 'InvalidAccountOwner', 'ArithmeticOverflow',
  'UnsupportedSysvar', 'IllegalOwner', 'MaxAccountsDataAllocationsExceeded', 'MaxAccountsExceeded',
  'MaxInstructionTraceLengthExceeded', 'BuiltinProgramsMustConsumeComputeUnits', 'BorshIoError',
];

/** A readable form of a LiteSVM transaction error (its enums are const enums, absent at run time). */
function describeError(err: unknown): string {
  if (typeof err === 'number') return FIELDLESS_ERRORS[err] ?? `TransactionError(${err})`;
  if (err && typeof err === 'object') {
    const e = err as { index?: number; err?: () => unknown; toString(): string };
    if (typeof e.err === 'function') {
      const inner = e.err();
      let text: string;
      if (typeof inner === 'number') text = INSTRUCTION_ERRORS[inner] ?? `InstructionError(${inner})`;
      else if (inner && typeof inner === 'object' && 'code' in inner) text = `Custom(${String(inner.code)})`;
      else text = String(inner);
      return `InstructionError(${e.index ?? '?'}, ${text})`;
    }
    return e.toString();
  }
  return String(err);
}
