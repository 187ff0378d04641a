import { IdlegridError } from '@idlegrid/domain';
import { isChainError, type ChainErrorCode } from '@idlegrid/chain';

type SurfacedCode =
  | 'CHAIN_DEPOSIT_MALFORMED' | 'CHAIN_DEPOSIT_WRONG_DESTINATION' | 'CHAIN_DEPOSIT_WRONG_MINT' | 'CHAIN_DEPOSIT_WRONG_SOURCE'
  | 'CHAIN_DEPOSIT_WRONG_SIGNER' | 'CHAIN_DEPOSIT_TOO_SMALL' | 'CHAIN_DEPOSIT_FAILED' | 'CHAIN_AIRDROP_UNAVAILABLE';

const SURFACED: ReadonlySet<ChainErrorCode> = new Set<SurfacedCode>([
  'CHAIN_DEPOSIT_MALFORMED', 'CHAIN_DEPOSIT_WRONG_DESTINATION', 'CHAIN_DEPOSIT_WRONG_MINT', 'CHAIN_DEPOSIT_WRONG_SOURCE',
  'CHAIN_DEPOSIT_WRONG_SIGNER', 'CHAIN_DEPOSIT_TOO_SMALL', 'CHAIN_DEPOSIT_FAILED', 'CHAIN_AIRDROP_UNAVAILABLE',
]);

/**
 * A ChainError as the IdlegridError of the same code from the domain table (the codes a caller
 * can cause); any other chain failure is CHAIN_FAILED (502). Anything else passes through.
 */
export function fromChainError(error: unknown): unknown {
  if (!isChainError(error)) return error;
  if (error.code === 'CHAIN_DEPOSIT_REPLAY') {
    const signature = error.details['signature'];
    return new IdlegridError('CHAIN_DEPOSIT_REPLAY', { signature: typeof signature === 'string' ? signature : 'unknown' }, { cause: error });
  }
  if (SURFACED.has(error.code)) return new IdlegridError(error.code as SurfacedCode, { reason: error.message }, { cause: error });
  return new IdlegridError('CHAIN_FAILED', { code: error.code, reason: error.message }, { cause: error });
}

/** Runs a ledger call, turning its ChainErrors into coded IdlegridErrors. */
export async function onChain<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw fromChainError(error);
  }
}
