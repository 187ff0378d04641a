import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { IdlegridError } from '@idlegrid/domain';

/**
 * The agent's RTT echo: peers connect over TCP and send fixed-size probe frames, which
 * are written straight back. A frame is ECHO_FRAME_BYTES long and starts with
 * ECHO_MAGIC; the rest is an opaque token the prober chooses. A well-behaved prober has
 * at most one frame in flight, so anything else is cut: more than one frame's worth of
 * unanswered bytes, a frame without the magic, more than maxFramesPerConnection frames,
 * a socket idle for idleTimeoutMs or open longer than maxConnectionMs. Connections
 * beyond maxConnections (in all) or maxConnectionsPerIp (from one address) are refused.
 */

export const ECHO_FRAME_BYTES = 16;
export const ECHO_MAGIC = Buffer.from('IGRT', 'latin1');

export interface EchoServerOptions {
  /** Address to bind. Default 0.0.0.0. */
  host?: string;
  /** TCP port; 0 = any free port. Default 0. */
  port?: number;
  /** Open connections at most, in all. Default 64. */
  maxConnections?: number;
  /** Open connections at most from one remote address. Default 16. */
  maxConnectionsPerIp?: number;
  /** A socket that sends nothing for this long is closed. Default 5 s. */
  idleTimeoutMs?: number;
  /** A socket is closed after this long, however busy. Default 15 s. */
  maxConnectionMs?: number;
  /** Frames answered per connection; the next one closes it. Default 32. */
  maxFramesPerConnection?: number;
  logger?: Logger;
}

export interface EchoServer {
  /** The bound address and port (the real one when 0 was asked). */
  readonly host: string;
  readonly port: number;
  /** Connections open right now. */
  readonly connections: number;
  /** Stops listening, drops every connection; resolves when closed. Idempotent. */
  close(): Promise<void>;
}

export const ECHO_DEFAULTS = {
  host: '0.0.0.0',
  port: 0,
  maxConnections: 64,
  maxConnectionsPerIp: 16,
  idleTimeoutMs: 5_000,
  maxConnectionMs: 15_000,
  maxFramesPerConnection: 32,
} as const;

/** Starts the echo; rejects with IdlegridError('CONFIG_INVALID') when the address cannot be bound. */
export async function startEchoServer(options: EchoServerOptions = {}): Promise<EchoServer> {
  const o = { ...ECHO_DEFAULTS, ...stripUndefined(options) };
  const sockets = new Set<Socket>();
  const perIp = new Map<string, number>();
  const server = createServer({ noDelay: true }, (socket) => serve(socket));
  server.maxConnections = o.maxConnections;
  server.on('drop', (data) => options.logger?.debug({ remote: data?.remoteAddress }, 'echo: refused a connection over the limit'));

  function serve(socket: Socket): void {
    const ip = socket.remoteAddress ?? '?';
    const fromIp = (perIp.get(ip) ?? 0) + 1;
    if (fromIp > o.maxConnectionsPerIp) {
      options.logger?.debug({ remote: ip }, 'echo: refused a connection over the per-address limit');
      socket.destroy();
      return;
    }
    perIp.set(ip, fromIp);
    sockets.add(socket);
    const lifetime = setTimeout(() => socket.destroy(), o.maxConnectionMs);
    socket.once('close', () => {
      clearTimeout(lifetime);
      sockets.delete(socket);
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left > 0) perIp.set(ip, left);
      else perIp.delete(ip);
    });
    socket.on('error', () => undefined); // resets from probers that give up are normal
    socket.setTimeout(o.idleTimeoutMs, () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    let frames = 0;
    socket.on('data', (chunk: Buffer) => {
      if (pending.length + chunk.length > ECHO_FRAME_BYTES) {
        socket.destroy(); // more than one frame in flight: not a prober
        return;
      }
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      if (pending.length < ECHO_FRAME_BYTES) return;
      frames += 1;
      if (frames > o.maxFramesPerConnection || !pending.subarray(0, ECHO_MAGIC.length).equals(ECHO_MAGIC)) {
        socket.destroy();
        return;
      }
      const frame = pending;
      pending = Buffer.alloc(0);
      socket.write(frame);
    });
  }

  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      reject(new IdlegridError('CONFIG_INVALID', {
        issues: [{ path: 'echoPort', message: `cannot listen for RTT probes on ${o.host}:${o.port}: ${err.code ?? err.message}` }],
      }));
    };
    server.once('error', failed);
    server.listen({ host: o.host, port: o.port }, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (err) => options.logger?.warn({ err }, 'echo server error'));
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : o.port;
  let closing: Promise<void> | null = null;
  return {
    host: o.host,
    port,
    get connections() {
      return sockets.size;
    },
    close: () => (closing ??= closeServer(server, sockets)),
  };
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
