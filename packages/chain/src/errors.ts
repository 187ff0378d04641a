/**
 * Coded errors of the chain adapter. The codes are stable SNAKE_CASE strings meant to move into
 * the domain error table (`packages/domain/src/error-codes.ts`); until then they live here with
 * their suggested HTTP status so a caller can map them.
 */
export const CHAIN_ERROR_HTTP_STATUS = {
  CHAIN_DEPOSIT_MALFORMED: 400,
  CHAIN_DEPOSIT_WRONG_DESTINATION: 400,
  CHAIN_DEPOSIT_WRONG_MINT: 400,
  CHAIN_DEPOSIT_WRONG_SOURCE: 400,
  CHAIN_DEPOSIT_WRONG_SIGNER: 400,
  CHAIN_DEPOSIT_TOO_SMALL: 400,
  CHAIN_DEPOSIT_REPLAY: 409,
  CHAIN_DEPOSIT_FAILED: 402,
  CHAIN_AIRDROP_UNAVAILABLE: 400,
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
