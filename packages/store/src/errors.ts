import { IdlegridError, isIdlegridError } from '@idlegrid/domain';

const CONFLICT_PREFIX = 'conflict: ';

/** True for a unique or primary key violation from either dialect. */
function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = error.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return isUniqueViolation(error) ? `${CONFLICT_PREFIX}${message}` : message;
}

/**
 * Wraps a driver failure as STORE_ERROR { operation, reason }; the original is the cause.
 * An IdlegridError passes through unchanged. A unique violation has a reason starting
 * with "conflict: " (see isStoreConflict).
 */
export function toStoreError(operation: string, error: unknown): IdlegridError {
  if (isIdlegridError(error)) return error;
  return new IdlegridError('STORE_ERROR', { operation, reason: reasonOf(error) }, { cause: error });
}

/** True when a store write failed because a row with the same key already exists. */
export function isStoreConflict(error: unknown): boolean {
  return isIdlegridError(error, 'STORE_ERROR') && error.context.reason.startsWith(CONFLICT_PREFIX);
}

type AsyncMethod = (...args: never[]) => Promise<unknown>;

/**
 * Returns the repository with every method wrapped so that failures become STORE_ERROR
 * with operation `<name>.<method>`. Repositories are plain objects of async functions.
 */
export function guardRepo<T extends Record<keyof T, AsyncMethod>>(name: string, repo: T): T {
  const guarded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(repo as Record<string, unknown>)) {
    if (typeof value !== 'function') {
      guarded[key] = value;
      continue;
    }
    const method = value as (...args: unknown[]) => Promise<unknown>;
    guarded[key] = async (...args: unknown[]): Promise<unknown> => {
      try {
        return await method(...args);
      } catch (error) {
        throw toStoreError(`${name}.${key}`, error);
      }
    };
  }
  return guarded as T;
}
