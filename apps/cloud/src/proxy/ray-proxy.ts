import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type { Context } from 'hono';
import type { Logger } from 'pino';
import { IdlegridError, isIdlegridError, isLeaseId, type Address } from '@idlegrid/domain';
import { rayEndpointSchema } from '@idlegrid/protocol';
import { isWindingDown, type LeaseRecord, type Store } from '@idlegrid/store';
import type { AppEnv } from '../api/app-env.ts';
import type { LeaseController } from '../leases/lease-controller.ts';

/** Headers that make Ray's dashboard treat a request as a browser's (it refuses those), or that must not leak upstream. */
const DROPPED_HEADERS = new Set([
  'host', 'authorization', 'cookie', 'origin', 'referer', 'connection', 'keep-alive', 'proxy-connection',
  'transfer-encoding', 'upgrade', 'te', 'trailer', 'x-ray-authorization', 'content-length',
]);
const HOP_BY_HOP_RESPONSE = new Set(['connection', 'keep-alive', 'transfer-encoding', 'set-cookie']);

export type ProxyTarget = 'ray' | 'serve';

const PATH = /^\/v1\/clusters\/([^/]+)\/(ray|serve)(\/.*)?$/;

/** Parses /v1/clusters/:id/(ray|serve)/rest into its parts, or null. */
export function proxyPath(path: string): { id: string; target: ProxyTarget; rest: string } | null {
  const m = PATH.exec(path);
  if (!m?.[1] || !m[2]) return null;
  return { id: m[1], target: m[2] as ProxyTarget, rest: m[3] ?? '/' };
}

function forwardHeaders(headers: IncomingHttpHeaders | Headers, token: string | null, upstreamHost: string): Record<string, string> {
  const out: Record<string, string> = {};
  const entries: Array<[string, string]> = headers instanceof Headers
    ? [...headers.entries()]
    : Object.entries(headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v.join(', ') : v] as [string, string]]));
  for (const [key, value] of entries) {
    const k = key.toLowerCase();
    if (DROPPED_HEADERS.has(k) || k.startsWith('sec-fetch-') || k.startsWith('sec-ch-')) continue;
    if (k === 'user-agent' && /mozilla/i.test(value)) continue;
    out[k] = value;
  }
  out['host'] = upstreamHost;
  if (token) out['x-ray-authorization'] = `Bearer ${token}`;
  return out;
}

/**
 * The authenticated way in to a cluster: the buyer's API key is checked here, Ray's
 * per-lease token is added, and browser headers are stripped (Ray refuses browser-looking
 * writes). Ray's own ports are never exposed to buyers.
 */
export class RayProxy {
  constructor(
    private readonly store: Store,
    private readonly leases: LeaseController,
    private readonly authenticate: (c: Context<AppEnv>) => Promise<void>,
    private readonly authenticateHeader: (authorization: string | undefined) => Promise<Address>,
    private readonly logger: Logger,
  ) {}

  /** The upstream base URL and token for a buyer's cluster. */
  async upstream(id: string, wallet: Address, target: ProxyTarget): Promise<{ base: URL; token: string | null }> {
    if (!isLeaseId(id)) throw new IdlegridError('NOT_FOUND', { resource: 'cluster', id });
    const lease = await this.leases.owned(id, wallet);
    const endpoint = await this.headEndpoint(lease);
    const url = target === 'ray' ? endpoint?.dashboardUrl : endpoint?.serveUrl;
    if (isWindingDown(lease.state)) {
      throw new IdlegridError('CLUSTER_ENDED', { id, state: lease.state });
    }
    if (!url) throw new IdlegridError('CLUSTER_NOT_READY', { id, state: lease.state });
    return { base: new URL(url), token: target === 'ray' ? lease.rayToken : null };
  }

  async handle(c: Context<AppEnv>): Promise<Response> {
    await this.authenticate(c);
    const parts = proxyPath(c.req.path);
    if (!parts) throw new IdlegridError('ROUTE_NOT_FOUND', { method: c.req.method, path: c.req.path });
    const { base, token } = await this.upstream(parts.id, c.get('wallet'), parts.target);
    const search = new URL(c.req.url).search;
    const headers = forwardHeaders(c.req.raw.headers, token, base.host);
    const hasBody = !['GET', 'HEAD'].includes(c.req.method);
    const body = hasBody ? Buffer.from(await c.req.arrayBuffer()) : undefined;
    if (body) headers['content-length'] = String(body.length);
    const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(
        { host: base.hostname, port: base.port, method: c.req.method, path: `${parts.rest}${search}`, headers },
        resolve,
      );
      req.on('error', reject);
      req.setTimeout(60_000, () => req.destroy(new Error('upstream timed out')));
      req.end(body);
    }).catch((err: unknown) => {
      throw new IdlegridError('RAY_UNREACHABLE', { id: parts.id, reason: err instanceof Error ? err.message : String(err) });
    });
    const responseHeaders = new Headers();
    for (const [k, v] of Object.entries(upstream.headers)) {
      if (v === undefined || HOP_BY_HOP_RESPONSE.has(k)) continue;
      responseHeaders.set(k, Array.isArray(v) ? v.join(', ') : v);
    }
    const status = upstream.statusCode ?? 502;
    const stream = status === 204 || status === 304 || c.req.method === 'HEAD' ? null : (Readable.toWeb(upstream) as ReadableStream);
    if (!stream) upstream.resume();
    return new Response(stream, { status, headers: responseHeaders });
  }

  /** WebSocket upgrades (e.g. `ray job logs --follow`): authenticate, then splice the sockets. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const parts = proxyPath((req.url ?? '').split('?')[0] ?? '');
    const refuse = (status: number, code: string) => {
      socket.end(`HTTP/1.1 ${status} ${code}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${JSON.stringify({ error: { code, message: code, details: {} } })}`);
    };
    if (!parts) return refuse(404, 'ROUTE_NOT_FOUND');
    this.authenticateHeader(req.headers.authorization)
      .then((wallet) => this.upstream(parts.id, wallet, parts.target))
      .then(({ base, token }) => {
        const search = (req.url ?? '').includes('?') ? `?${(req.url ?? '').split('?')[1] ?? ''}` : '';
        const headers = forwardHeaders(req.headers, token, base.host);
        headers['connection'] = 'Upgrade';
        headers['upgrade'] = req.headers.upgrade ?? 'websocket';
        const upstream = connect(Number(base.port), base.hostname, () => {
          const lines = [`${req.method ?? 'GET'} ${parts.rest}${search} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
          upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
          if (head.length > 0) upstream.write(head);
          upstream.pipe(socket);
          socket.pipe(upstream);
        });
        const close = () => {
          upstream.destroy();
          socket.destroy();
        };
        upstream.on('error', close);
        socket.on('error', close);
        upstream.on('close', close);
        socket.on('close', close);
      })
      .catch((err: unknown) => {
        if (isIdlegridError(err)) return refuse(err.httpStatus, err.code);
        this.logger.error({ err }, 'proxy upgrade failed');
        refuse(502, 'RAY_UNREACHABLE');
      });
  }

  private async headEndpoint(lease: LeaseRecord) {
    const head = (await this.store.leases.nodes(lease.id)).find((n) => n.role === 'head' && ['assigned', 'starting', 'joined'].includes(n.state));
    const parsed = rayEndpointSchema.safeParse(head?.endpoint);
    return parsed.success ? parsed.data : null;
  }
}
