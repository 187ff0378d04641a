import type { Logger } from 'pino';
import { openPgChannel, PG_NOTIFY_MAX_BYTES } from '@idlegrid/store';
import { busMessageSchema, type BusMessage } from './bus-messages.ts';

/** How replicas talk: every message reaches every replica (the sender too), in publish order per sender. */
export interface ReplicaBus {
  /** Largest serialized message. */
  readonly maxBytes: number;
  publish(message: BusMessage): Promise<void>;
  /** `onMessage` gets every valid message; `onResync` runs when messages may have been missed (a reconnect). */
  subscribe(onMessage: (message: BusMessage) => void, onResync?: () => void): void;
  close(): Promise<void>;
}

/** The PostgreSQL channel replicas share. */
export const REPLICA_CHANNEL = 'idlegrid_replicas';

/** The bus over PostgreSQL LISTEN/NOTIFY (one dedicated connection). */
export async function openPgReplicaBus(url: string, logger: Logger): Promise<ReplicaBus> {
  const handlers: Array<{ onMessage: (m: BusMessage) => void; onResync?: () => void }> = [];
  const channel = await openPgChannel({
    url,
    channel: REPLICA_CHANNEL,
    onMessage: (payload) => {
      const message = parseBusMessage(payload);
      if (!message) {
        logger.warn({ bytes: payload.length }, 'ignored an invalid replica message');
        return;
      }
      for (const h of handlers) h.onMessage(message);
    },
    onReconnect: () => {
      logger.warn('replica bus reconnected; asking the other replicas to announce their devices again');
      for (const h of handlers) h.onResync?.();
    },
    onError: (err) => logger.warn({ err }, 'replica bus connection error'),
  });
  return {
    maxBytes: PG_NOTIFY_MAX_BYTES,
    publish: (message) => channel.publish(JSON.stringify(message)),
    subscribe: (onMessage, onResync) => {
      handlers.push({ onMessage, ...(onResync ? { onResync } : {}) });
    },
    close: () => channel.close(),
  };
}

/** Parses and validates one payload; null when it is not a replica message. */
export function parseBusMessage(payload: string): BusMessage | null {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return null;
  }
  const parsed = busMessageSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/**
 * An in-process bus for tests of several replicas in one process: delivery is asynchronous
 * and in order, through the same JSON round trip and validation as PostgreSQL's.
 */
export class MemoryBusHub {
  private readonly members = new Set<{ onMessage: (m: BusMessage) => void; onResync?: () => void }>();
  private queue: Promise<void> = Promise.resolve();

  connect(maxBytes = PG_NOTIFY_MAX_BYTES): ReplicaBus {
    const mine: Array<{ onMessage: (m: BusMessage) => void; onResync?: () => void }> = [];
    let open = true;
    return {
      maxBytes,
      publish: (message) => {
        if (!open) return Promise.reject(new Error('bus closed'));
        const payload = JSON.stringify(message);
        if (Buffer.byteLength(payload, 'utf8') > maxBytes) return Promise.reject(new Error(`message of ${payload.length} bytes is over ${maxBytes}`));
        this.queue = this.queue.then(() => new Promise<void>((resolve) => setImmediate(() => {
          const parsed = parseBusMessage(payload);
          if (parsed) for (const m of this.members) m.onMessage(parsed);
          resolve();
        })));
        return Promise.resolve();
      },
      subscribe: (onMessage, onResync) => {
        const member = { onMessage, ...(onResync ? { onResync } : {}) };
        mine.push(member);
        this.members.add(member);
      },
      close: () => {
        open = false;
        for (const m of mine) this.members.delete(m);
        return Promise.resolve();
      },
    };
  }

  /** Resolves once every message published so far was delivered. */
  drained(): Promise<void> {
    return this.queue;
  }
}
