import type { Context, MiddlewareHandler } from 'hono';
import { IdlegridError, type Clock } from '@idlegrid/domain';
import type { AppEnv } from './app-env.ts';

/** A token bucket's shape: `burst` requests at once, refilled at `perSecond`; `perSecond` 0 turns the limit off. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Token buckets by key (an IP, an API key id), in memory. Pure apart from the clock it is given.
 * At most `maxKeys` buckets are kept: the least recently used is dropped first (it comes back full,
 * which only ever errs on the side of letting a request through).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
    private readonly maxKeys = 100_000,
  ) {}

  get enabled(): boolean {
    return this.limit.perSecond > 0 && this.limit.burst > 0;
  }

  /** Takes one token for `key`: 0 when the request may go ahead, else the whole seconds until a token is back. */
  take(key: string): number {
    if (!this.enabled) return 0;
    const now = this.clock.now();
    const found = this.buckets.get(key);
    const bucket = found ?? { tokens: this.limit.burst, atMs: now };
    if (found) this.buckets.delete(key);
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + (Math.max(0, now - bucket.atMs) / 1000) * this.limit.perSecond);
    bucket.atMs = now;
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.perSecond));
  }

  /** Throws RATE_LIMITED (429, Retry-After) when `key` has no token left. */
  check(key: string): void {
    const retryAfterSeconds = this.take(key);
    if (retryAfterSeconds > 0) throw new IdlegridError('RATE_LIMITED', { retryAfterSeconds });
  }
}

/** The peer address of a request served by @hono/node-server; `local` for in-process `app.request` calls. */
export function remoteAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  const ip = env?.incoming?.socket?.remoteAddress;
  if (!ip) return 'local';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/**
 * Limits every request per client IP before anything else runs (authentication included, so a flood
 * of forged keys costs no database reads). Forwarded-for headers are not trusted: they are the client's to forge.
 */
export function rateLimitByIp(buckets: TokenBuckets): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    buckets.check(`ip:${remoteAddress(c)}`);
    await next();
  };
}

/** Wraps an authenticator: once a request's API key is known to be valid, it spends one of that key's tokens. */
export function rateLimitedAuthenticator(
  authenticate: (c: Context<AppEnv>) => Promise<void>,
  buckets: TokenBuckets,
): (c: Context<AppEnv>) => Promise<void> {
  return async (c) => {
    await authenticate(c);
    buckets.check(`key:${c.get('apiKeyId')}`);
  };
}
