import { ERROR_HTTP_STATUS } from '@idlegrid/domain';

/**
 * Coded errors of the chain adapter. The codes a user can meet (deposits, airdrops) live in the
 * domain error table (`packages/domain/src/error-codes.ts`), which decides their HTTP status;
 * the control plane maps a ChainError to an IdlegridError of the same code. The others are
 * internal to settlement and keep their suggested status here.
 */
export const CHAIN_ERROR_HTTP_STATUS = {
  CHAIN_DEPOSIT_MALFORMED: ERROR_HTTP_STATUS.CHAIN_DEPOSIT_MALFORMED,
  CHAIN_DEPOSIT_WRONG_DESTINATION: ERROR_HTTP_STATUS.CHAIN_DEPOSIT_WRONG_DESTINATION,
  CHAIN_DEPOSIT_WRONG_MINT: ERROR_HTTP_STATUS.CHAIN_DEPOSIT_WRONG_MINT,
  CHAIN_DEPOSIT_WRONG_SOURCE: ERROR_HTTP_STATUS.CHAIN_DEPOSIT_WRONG_SOURCE,
  CHAIN_DEPOSIT_WRONG_SIGNER: ERROR_HTTP_STATUS.CHAIN_DEPOSIT_WRONG_SIGNER,
  CHAIN_DEPOSIT_TOO_SMALL: ERROR_HTTP_STATUS.CHAIN_DEPOSIT_TOO_SMALL,
  CHAIN_DEPOSIT_REPLAY: ERROR_HTTP_STATUS.CHAIN_DEPOSIT_REPLAY,
  CHAIN_DEPOSIT_FAILED: ERROR_HTTP_STATUS.CHAIN_DEPOSIT_FAILED,
  CHAIN_AIRDROP_UNAVAILABLE: ERROR_HTTP_STATUS.CHAIN_AIRDROP_UNAVAILABLE,
  CHAIN_NOT_BOOTSTRAPPED: 503,
  CHAIN_INVALID_BATCH: 400,
  CHAIN_BATCH_CONFLICT: 409,
  CHAIN_INSUFFICIENT_ESCROW: 409,
  CHAIN_SEND_FAILED: 502,
  CHAIN_RPC_ERROR: 502,
  CHAIN_STATE_CORRUPT: 500,
  CHAIN_CLOSED: 500,
} as const;

export type ChainErrorCode = keyof typeof CHAIN_ERROR_HTTP_STATUS;

/** The one error class of the chain adapter: a stable code, a one-line message and details. */
export class ChainError extends Error {
  readonly code: ChainErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ChainErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChainError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return CHAIN_ERROR_HTTP_STATUS[this.code];
  }

  toJSON(): { code: ChainErrorCode; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isChainError(e: unknown, code?: ChainErrorCode): e is ChainError {
  return e instanceof ChainError && (code === undefined || e.code === code);
}
