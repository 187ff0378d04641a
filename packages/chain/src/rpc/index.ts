import { LedgerCore, type LedgerCoreOptions } from '../core.ts';
import { MemoryIdempotencyStore } from '../idempotency.ts';
import type { IdempotencyStore } from '../ledger.ts';
import type { ChainSigner } from '../wire.ts';
import { RpcBackend, type RpcBackendOptions } from './backend.ts';

export interface RpcLedgerOptions extends RpcBackendOptions {
  /** Protocol authority: must hold SOL for fees and rent on that cluster. */
  readonly authority: ChainSigner;
  /** Durable store of payment/mint transactions before they are sent (default: in memory, not crash-safe). */
  readonly idempotency?: IdempotencyStore;
  readonly faults?: LedgerCoreOptions['faults'];
}

/** A Ledger on any Solana JSON-RPC endpoint (`--chain https://…`). */
export async function openRpcLedger(options: RpcLedgerOptions): Promise<LedgerCore> {
  const backend = new RpcBackend(options);
  return new LedgerCore({
    backend,
    authority: options.authority,
    idempotency: options.idempotency ?? new MemoryIdempotencyStore(),
    ...(options.faults ? { faults: options.faults } : {}),
  }).init();
}

export { RpcBackend, type RpcBackendOptions } from './backend.ts';
