import pg from 'pg';
import { ADVISORY_LOCKS } from './advisory-locks.ts';

/**
 * What control-plane replicas on one PostgreSQL use to coordinate: a LISTEN/NOTIFY channel
 * (cross-replica messages) and a session-level advisory lock (the leader). Each holds a
 * connection of its own, outside the store's pool, since both belong to one session.
 */

/** PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more. */
export const PG_NOTIFY_MAX_BYTES = 7_900;

export interface PgChannel {
  /** Sends `payload` to every session listening on the channel (this one included). */
  publish(payload: string): Promise<void>;
  close(): Promise<void>;
}

export interface PgChannelOptions {
  url: string;
  /** A plain identifier: lower-case letters, digits and underscores. */
  channel: string;
  onMessage: (payload: string) => void;
  /** After the connection was lost and opened again: whatever was sent meanwhile never arrived here. */
  onReconnect?: () => void;
  onError?: (error: Error) => void;
  /** Wait between reconnection attempts (default 1,000 ms). */
  retryMs?: number;
}

/** Listens on a channel through a dedicated connection that is re-opened whenever it is lost. */
export async function openPgChannel(options: PgChannelOptions): Promise<PgChannel> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.channel)) throw new Error(`invalid channel name: ${options.channel}`);
  const retryMs = options.retryMs ?? 1_000;
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: options.url, keepAlive: true, keepAliveInitialDelayMillis: 1_000 });
    c.on('notification', (n) => {
      if (n.channel === options.channel && n.payload !== undefined) options.onMessage(n.payload);
    });
    c.on('error', (err) => {
      options.onError?.(err);
      lost(c);
    });
    c.on('end', () => lost(c));
    await c.connect();
    await c.query(`LISTEN ${options.channel}`);
    return c;
  };
  const lost = (c: pg.Client): void => {
    if (client !== c || closed) return;
    client = null;
    c.end().catch(() => undefined);
    scheduleReconnect();
  };
  const scheduleReconnect = (): void => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        (c) => {
          if (closed) return void c.end().catch(() => undefined);
          client = c;
          options.onReconnect?.();
        },
        (err: unknown) => {
          options.onError?.(err as Error);
          scheduleReconnect();
        },
      );
    }, retryMs);
    retry.unref();
  };

  client = await connect();
  return {
    async publish(payload) {
      if (Buffer.byteLength(payload, 'utf8') > PG_NOTIFY_MAX_BYTES) throw new Error(`notification of ${Buffer.byteLength(payload, 'utf8')} bytes is over ${PG_NOTIFY_MAX_BYTES}`);
      if (!client) throw new Error(`not connected to PostgreSQL (channel ${options.channel}); reconnecting`);
      await client.query('select pg_notify($1, $2)', [options.channel, payload]);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}

export interface PgLeaderLock {
  /** Whether this process holds the lock as far as it knows. */
  readonly held: boolean;
  /** Takes the lock if it is free (true also when already held). A connection failure answers false. */
  tryAcquire(): Promise<boolean>;
  /**
   * Whether the lock's session still answers within `timeoutMs` (default 10 s: a busy event loop
   * must not look like a lost session). A leader checks this every tick: when it fails, another
   * replica may hold the lock soon, and `onLost` has run.
   */
  healthy(timeoutMs?: number): Promise<boolean>;
  /** Releases the lock (ends its session). */
  close(): Promise<void>;
}

/**
 * The leader lock: a session-level advisory lock on a dedicated connection. PostgreSQL frees it
 * when that session ends: at once when the holder's process dies (its socket closes), and
 * within about five seconds of silence when its host or network does (TCP keepalives set
 * on the session). `onLost` runs once each time a held lock is lost.
 */
export function pgLeaderLock(options: { url: string; key?: number; onLost: (reason: string) => void }): PgLeaderLock {
  const key = options.key ?? ADVISORY_LOCKS.leader;
  let client: pg.Client | null = null;
  let held = false;

  const drop = (c: pg.Client, reason: string): void => {
    if (client !== c) return;
    client = null;
    c.end().catch(() => undefined);
    if (held) {
      held = false;
      options.onLost(reason);
    }
  };
  const session = async (): Promise<pg.Client> => {
    if (client) return client;
    const c = new pg.Client({ connectionString: options.url, keepAlive: true, keepAliveInitialDelayMillis: 1_000 });
    c.on('error', (err) => drop(c, `leader session error: ${err.message}`));
    c.on('end', () => drop(c, 'leader session ended'));
    await c.connect();
    // The server notices a vanished holder through keepalives: 2 s idle, then 3 probes 1 s apart.
    await c.query('set tcp_keepalives_idle = 2; set tcp_keepalives_interval = 1; set tcp_keepalives_count = 3');
    client = c;
    return c;
  };

  return {
    get held() {
      return held;
    },
    async tryAcquire() {
      if (held) return true;
      try {
        const c = await session();
        const { rows } = await c.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [key]);
        held = rows[0]?.ok === true;
        return held;
      } catch {
        if (client) drop(client, 'leader session failed');
        return false;
      }
    },
    async healthy(timeoutMs = 10_000) {
      const c = client;
      if (!c || !held) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const ok = await Promise.race([c.query('select 1').then(() => true, () => false), timeout]);
      clearTimeout(timer);
      if (!ok) drop(c, `leader session did not answer within ${timeoutMs} ms`);
      return ok;
    },
    async close() {
      const c = client;
      client = null;
      held = false;
      await c?.end().catch(() => undefined);
    },
  };
}
