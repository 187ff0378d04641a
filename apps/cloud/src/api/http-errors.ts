import type { Context } from 'hono';
import type { Logger } from 'pino';
import { IdlegridError, isIdlegridError } from '@idlegrid/domain';
import type { ErrorBody } from '@idlegrid/protocol';

/** The one place where any thrown value becomes an HTTP error response. */
export function errorResponse(c: Context, err: unknown, logger: Logger): Response {
  const error = toIdlegridError(err);
  if (error.httpStatus >= 500) logger.error({ err, path: c.req.path }, 'request failed');
  const body: ErrorBody = { error: { code: error.code, message: error.message, details: { ...error.context } } };
  const headers: Record<string, string> = {};
  const retryAfter = (error.context as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
  if (error.code === 'METHOD_NOT_ALLOWED') headers['allow'] = (error.context as { allowed: readonly string[] }).allowed.join(', ');
  return c.json(body, error.httpStatus as 400, headers);
}

export function toIdlegridError(err: unknown): IdlegridError {
  if (isIdlegridError(err)) return err;
  return new IdlegridError('INTERNAL', { reason: 'unexpected server error; see the server log' }, { cause: err });
}
