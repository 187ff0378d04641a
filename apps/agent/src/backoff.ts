import type { RandomSource } from '@idlegrid/domain';

export interface BackoffOptions {
  /** The first retry waits up to this long. */
  baseMs: number;
  /** No wait exceeds this. */
  capMs: number;
  /** A connection that stayed online this long resets the attempt counter. */
  resetAfterOnlineMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000, resetAfterOnlineMs: 60_000 };

/**
 * Exponential backoff with full jitter (AWS architecture blog): attempt n (from 0) waits a
 * uniform random time in [0, min(cap, base·2ⁿ)), so many agents that lost the same
 * control plane do not reconnect in lockstep.
 */
export function backoffDelayMs(attempt: number, random: RandomSource, options: Pick<BackoffOptions, 'baseMs' | 'capMs'>): number {
  const exponent = Math.min(Math.max(0, attempt), 30);
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
