import { ERROR_MESSAGES, ERROR_HTTP_STATUS, type ErrorCode, type ErrorContext } from './error-codes.ts';

/**
 * The one error class of idlegrid. Every failure a user or another part can see carries
 * a stable SNAKE_CASE code, a message from the single table in error-codes.ts and typed
 * context. `httpStatus` is looked up from the same table, so there is exactly one place
 * that decides how an error becomes an HTTP response.
 */
export class IdlegridError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly context: ErrorContext<C>;

  constructor(code: C, context: ErrorContext<C>, options?: { cause?: unknown }) {
    super(renderMessage(code, context), options);
    this.name = 'IdlegridError';
    this.code = code;
    this.context = context;
  }

  get httpStatus(): number {
    return ERROR_HTTP_STATUS[this.code];
  }

  toJSON(): { code: C; message: string; details: ErrorContext<C> } {
    return { code: this.code, message: this.message, details: this.context };
  }
}

export function isIdlegridError<C extends ErrorCode>(e: unknown, code?: C): e is IdlegridError<C> {
  return e instanceof IdlegridError && (code === undefined || e.code === code);
}

function renderMessage<C extends ErrorCode>(code: C, context: ErrorContext<C>): string {
  const template: string = ERROR_MESSAGES[code];
  const values = context as Record<string, unknown>;
  return template.replace(/\$(\w+)/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) return `$${key}`;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v.toString();
    return JSON.stringify(v);
  });
}
