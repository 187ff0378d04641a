import { address, createSolanaRpc, lamports } from '@solana/kit';
import type { Address } from '@idlegrid/domain';
import { LedgerCore, type LedgerCoreOptions } from '../core.ts';
import { ChainError } from '../errors.ts';
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

/**
 * Asks an RPC node's faucet (a test validator, devnet, `idlegrid chain node`) for SOL and waits
 * until the balance shows it. Mainnet has no faucet: that refusal comes back as CHAIN_RPC_ERROR.
 */
export async function requestSolAirdrop(url: string, to: Address, amountLamports: bigint, timeoutMs = 60_000): Promise<void> {
  const rpc = createSolanaRpc(url);
  try {
    const before = (await rpc.getBalance(address(to), { commitment: 'confirmed' }).send()).value;
    await rpc.requestAirdrop(address(to), lamports(amountLamports)).send();
    const until = Date.now() + timeoutMs;
    while ((await rpc.getBalance(address(to), { commitment: 'confirmed' }).send()).value < before + amountLamports) {
      if (Date.now() > until) throw new Error(`the airdrop to ${to} did not arrive within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (e) {
    throw new ChainError('CHAIN_RPC_ERROR', `Airdrop of ${amountLamports} lamports to ${to} at ${url} failed: ${(e as Error).message}`, { url, what: 'requestAirdrop' }, { cause: e });
  }
}

export { RpcBackend, type RpcBackendOptions } from './backend.ts';
