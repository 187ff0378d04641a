/**
 * Failures of the Ray adapter. A local error class with stable SNAKE_CASE codes; the
 * agent and control plane map them onto domain codes (IdlegridError) where a user sees them.
 */
export type RayErrorCode =
  | 'RAY_NOT_INSTALLED'
  | 'RAY_SETUP_FAILED'
  | 'RAY_INVALID_OPTIONS'
  | 'RAY_PORT_IN_USE'
  | 'RAY_TEMP_DIR_TOO_LONG'
  | 'RAY_START_FAILED'
  | 'RAY_START_TIMEOUT'
  | 'RAY_STOP_FAILED'
  | 'RAY_UNREACHABLE'
  | 'RAY_UNAUTHORIZED'
  | 'RAY_BAD_RESPONSE'
  | 'RAY_JOB_API_ERROR'
  | 'RAY_JOB_NOT_FOUND'
  | 'RAY_TIMEOUT';

export class RayError extends Error {
  readonly code: RayErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: RayErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RayError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: RayErrorCode; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isRayError(e: unknown, code?: RayErrorCode): e is RayError {
  return e instanceof RayError && (code === undefined || e.code === code);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
