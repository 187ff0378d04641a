import type { MiddlewareHandler } from 'hono';
import { IdlegridError } from '@idlegrid/domain';
import type { AppEnv } from '../api/app-env.ts';
import type { AuthHook } from '../api/router.ts';

/** What the forwarding needs to know about the replica set. */
export interface LeaderDirectory {
  readonly id: string;
  readonly isLeader: boolean;
  /** The leader's URL when another replica leads; null when none is known. */
  leaderUrl(): string | null;
}

/** Requests only the leader serves: they book, extend or release leases (its scheduler holds the slots). */
const LEADER_ROUTES = [/^\/v1\/clusters$/, /^\/v1\/clusters\/[^/]+\/(extend|release)$/];
/** Set on a forwarded request, so that a replica that lost the lead meanwhile answers instead of forwarding again. */
export const FORWARDED_BY_HEADER = 'x-idlegrid-forwarded-by';
/** The origin the buyer used, so that the leader's answer names the follower's addresses (proxy, `ray job submit`). */
export const FORWARDED_ORIGIN_HEADER = 'x-idlegrid-forwarded-origin';
const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'expect']);
const SECONDS_TO_ELECT = 3;

/**
 * On a follower replica, sends the leader-only requests (POST on the routes above) to the
 * leader and answers with its response, unchanged: a buyer may use any replica. Everything
 * else is served where it arrives. Only authenticated requests within the body limit are
 * forwarded (the rest are answered here, as the leader would).
 */
export function forwardToLeader(
  directory: LeaderDirectory,
  o: { authenticate: AuthHook; maxBodyBytes: number; timeoutMs?: number },
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (directory.isLeader || c.req.method !== 'POST' || !LEADER_ROUTES.some((r) => r.test(c.req.path))) return next();
    if (c.req.header(FORWARDED_BY_HEADER) !== undefined) {
      throw new IdlegridError('NO_LEADER', { reason: 'this replica no longer leads', retryAfterSeconds: SECONDS_TO_ELECT });
    }
    await o.authenticate(c);
    if (Number(c.req.header('content-length') ?? '0') > o.maxBodyBytes) throw new IdlegridError('PAYLOAD_TOO_LARGE', { limitBytes: o.maxBodyBytes });
    const body = await c.req.arrayBuffer();
    if (body.byteLength > o.maxBodyBytes) throw new IdlegridError('PAYLOAD_TOO_LARGE', { limitBytes: o.maxBodyBytes });
    const leader = directory.leaderUrl();
    if (leader === null) throw new IdlegridError('NO_LEADER', { reason: 'a leader is being elected', retryAfterSeconds: SECONDS_TO_ELECT });
    const url = new URL(c.req.url);
    const headers = new Headers();
    for (const [name, value] of c.req.raw.headers) if (!HOP_BY_HOP.has(name)) headers.set(name, value);
    headers.set(FORWARDED_BY_HEADER, directory.id);
    headers.set(FORWARDED_ORIGIN_HEADER, url.origin);
    let response: Response;
    try {
      response = await fetch(`${leader}${url.pathname}${url.search}`, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new IdlegridError('NO_LEADER', { reason: `the leader at ${leader} did not answer (${(err as Error).message})`, retryAfterSeconds: SECONDS_TO_ELECT });
    }
    const out = new Headers();
    for (const [name, value] of response.headers) if (!HOP_BY_HOP.has(name) && name !== 'content-encoding') out.set(name, value);
    return new Response(await response.arrayBuffer(), { status: response.status, headers: out });
  };
}
