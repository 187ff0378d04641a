import { join } from 'node:path';
import { systemClock, type Clock } from '@idlegrid/domain';
import { LedgerCore, type LedgerCoreOptions } from '../core.ts';
import { FileIdempotencyStore, MemoryIdempotencyStore } from '../idempotency.ts';
import { loadOrCreateSignerFile } from '../keyfile.ts';
import type { IdempotencyStore } from '../ledger.ts';
import { signerFromSeed, type ChainSigner } from '../wire.ts';
import { EmbeddedBackend } from './backend.ts';
import { randomBytes } from 'node:crypto';

export interface EmbeddedLedgerOptions {
  /** Snapshot, journal, authority key and (default) idempotency file; null: in memory only. */
  readonly dataDir: string | null;
  /** Drives LiteSVM's clock (unix time, and slots at `slotMs`). Default: the system clock. */
  readonly clock?: Clock;
  /** Default: `<dataDir>/authority.json`, created on first open. */
  readonly authority?: ChainSigner;
  /** Default: `<dataDir>/idempotency.json` (in memory without a data dir). */
  readonly idempotency?: IdempotencyStore;
  /** LiteSVM's own duplicate-check window (default 20,000 transactions, ≈580 B each in every snapshot); the journal is the unbounded, durable check. */
  readonly transactionHistory?: bigint;
  readonly slotMs?: number;
  /** Crash-simulation hooks for tests. */
  readonly faults?: LedgerCoreOptions['faults'];
}

export type EmbeddedLedger = LedgerCore & { readonly embedded: EmbeddedBackend };

/** Opens (or creates) the embedded LiteSVM chain in `dataDir`. Call bootstrap() once after. */
export async function openEmbeddedLedger(options: EmbeddedLedgerOptions): Promise<EmbeddedLedger> {
  const dir = options.dataDir;
  const authority = options.authority ?? (dir ? await loadOrCreateSignerFile(join(dir, 'authority.json')) : signerFromSeed(new Uint8Array(randomBytes(32))));
  const chain = new EmbeddedBackend({
    dataDir: dir,
    clock: options.clock ?? systemClock,
    ...(options.transactionHistory !== undefined ? { transactionHistory: options.transactionHistory } : {}),
    ...(options.slotMs !== undefined ? { slotMs: options.slotMs } : {}),
  });
  const idempotency = options.idempotency ?? (dir ? new FileIdempotencyStore(join(dir, 'idempotency.json')) : new MemoryIdempotencyStore());
  const core = await new LedgerCore({ backend: chain, authority, idempotency, ...(options.faults ? { faults: options.faults } : {}) }).init();
  return Object.assign(core, { embedded: chain });
}

export { EmbeddedBackend } from './backend.ts';
