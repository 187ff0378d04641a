import http from 'node:http';
import https from 'node:https';
import type { z } from 'zod';
import { RayError, errorMessage, type RayErrorCode } from './errors.ts';

/**
 * Where Ray's HTTP API (dashboard, Jobs, State) is: the head's dashboard URL, or a proxy
 * prefix such as `https://cloud/v1/clusters/ID/ray`. Requests go through node:http(s),
 * never `fetch`: Ray's dashboard refuses POST/DELETE that look like a browser
 * (`Sec-Fetch-*`, `User-Agent: Mozilla…`), and fetch adds `Sec-Fetch-Mode`.
 */
export interface RayHttpTarget {
  readonly url: string;
  /** The Ray token; undefined sends no Ray auth header. */
  readonly token?: string;
  /** Header that carries `Bearer <token>` (default x-ray-authorization, as the proxy does). */
  readonly authHeader?: 'authorization' | 'x-ray-authorization';
  /** Extra headers, e.g. `Authorization` for the idlegrid proxy. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Per request (default 15 000 ms). */
  readonly timeoutMs?: number;
}

export interface RayHttpRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path under the target URL, e.g. `/api/jobs/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export interface RayHttpResponse {
  readonly status: number;
  readonly text: string;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

export function rayUrl(target: RayHttpTarget, path: string, query?: Readonly<Record<string, string>>): URL {
  const base = new URL(target.url);
  base.pathname = base.pathname.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
  for (const [k, v] of Object.entries(query ?? {})) base.searchParams.set(k, v);
  return base;
}

/** One request; resolves with any status, rejects RAY_UNREACHABLE / RAY_TIMEOUT. */
export function rayRequest(target: RayHttpTarget, req: RayHttpRequest): Promise<RayHttpResponse> {
  const url = rayUrl(target, req.path, req.query);
  const timeoutMs = target.timeoutMs ?? 15_000;
  const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body), 'utf8');
  const headers: Record<string, string> = { Accept: 'application/json', ...(target.headers ?? {}) };
  if (target.token !== undefined) headers[target.authHeader ?? 'x-ray-authorization'] = `Bearer ${target.token}`;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(body.length);
  }
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, { method: req.method, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          request.destroy(new RayError('RAY_BAD_RESPONSE', `Response of ${req.method} ${url.pathname} exceeds ${MAX_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => reject(toUnreachable(e, req, url)));
    });
    request.on('timeout', () => request.destroy(new RayError('RAY_TIMEOUT', `${req.method} ${url.href} took over ${timeoutMs} ms`, { url: url.href, timeoutMs })));
    request.on('error', (e) => reject(toUnreachable(e, req, url)));
    request.end(body);
  });
}

function toUnreachable(e: unknown, req: RayHttpRequest, url: URL): RayError {
  if (e instanceof RayError) return e;
  return new RayError('RAY_UNREACHABLE', `Cannot reach Ray at ${url.origin} (${req.method} ${url.pathname}): ${errorMessage(e)}`, { url: url.href }, { cause: e });
}

export interface JsonCallOptions {
  /** Code for a non-2xx answer other than 401/403 (→ RAY_UNAUTHORIZED). */
  readonly errorCode: RayErrorCode;
  /** Code for 404, when it means "no such thing" (e.g. RAY_JOB_NOT_FOUND). */
  readonly notFoundCode?: RayErrorCode;
}

/** A request whose 2xx JSON answer must match `schema`. */
export async function rayJson<S extends z.ZodType>(target: RayHttpTarget, req: RayHttpRequest, schema: S, options: JsonCallOptions): Promise<z.infer<S>> {
  const res = await rayRequest(target, req);
  assertOk(res, req, options);
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.text);
  } catch {
    throw new RayError('RAY_BAD_RESPONSE', `${req.method} ${req.path}: not JSON: ${res.text.slice(0, 200)}`, { path: req.path });
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).slice(0, 5);
    throw new RayError('RAY_BAD_RESPONSE', `${req.method} ${req.path}: unexpected answer (${issues.join('; ')})`, { path: req.path, issues });
  }
  return result.data;
}

export function assertOk(res: RayHttpResponse, req: RayHttpRequest, options: JsonCallOptions): void {
  if (res.status >= 200 && res.status < 300) return;
  const snippet = res.text.trim().slice(0, 500);
  const details = { status: res.status, method: req.method, path: req.path, body: snippet };
  if (res.status === 401 || res.status === 403) {
    throw new RayError('RAY_UNAUTHORIZED', `Ray refused the token (${res.status}) for ${req.method} ${req.path}: ${snippet}`, details);
  }
  if (res.status === 404 && options.notFoundCode !== undefined) {
    throw new RayError(options.notFoundCode, `${req.method} ${req.path}: ${snippet || 'not found'}`, details);
  }
  throw new RayError(options.errorCode, `Ray answered ${res.status} to ${req.method} ${req.path}: ${snippet.split('\n').slice(-3).join(' | ')}`, details);
}
