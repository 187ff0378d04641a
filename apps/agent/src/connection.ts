import { WebSocket, type ClientOptions, type RawData } from 'ws';
import type { z } from 'zod';
import { IdlegridError, type Clock } from '@idlegrid/domain';
import {
  agentMessageLimitBytes, AGENT_PROTOCOL_VERSION, AGENT_SESSION_MESSAGES, helloSchema, serverMessageSchema, signAgentMessage,
  type AgentSessionMessage, type HeartbeatMessage, type HelloMessage, type Keypair, type ServerMessage,
} from '@idlegrid/protocol';
import type { Logger } from 'pino';
import type { HandledServerMessage, OutgoingAgentMessage } from './handlers.ts';
import type { LoadSampler } from './probe/host.ts';
import type { CoordinateWithError } from './rtt/network-position.ts';

/** The `ws` client class, or a stand-in with the same surface. */
export type WebSocketConstructor = new (url: string, options?: ClientOptions) => WebSocket;

/** The hello fields that do not depend on the connection (everything but nonce and sig). */
export type HelloBody = Omit<HelloMessage, 'type' | 'nonce' | 'sig'>;
type ServerError = Extract<ServerMessage, { type: 'error' }>;
type Welcome = Extract<ServerMessage, { type: 'welcome' }>;
type HeartbeatLease = HeartbeatMessage['leases'][number];

/** How one connection ended. */
export interface ConnectionOutcome {
  wasOnline: boolean;
  /** How long it was online (0 if it never was), by the injected clock. */
  onlineMs: number;
  code: number;
  reason: string;
  /** The `error` message the server sent before closing, if any. */
  serverError: ServerError | null;
  /** The last socket error (connection refused, TLS failure, unexpected HTTP response…), if any. */
  socketError: string | null;
}

export interface ConnectionOptions {
  url: string;
  keypair: Keypair;
  hello: HelloBody;
  logger: Logger;
  clock: Clock;
  WebSocketImpl: WebSocketConstructor;
  sampleLoad: LoadSampler;
  /** The network coordinate each heartbeat carries (null: none known). */
  coordinate: () => CoordinateWithError | null;
  /** Cumulative GPU-seconds per running lease, for each heartbeat. Default: none. */
  leases?: () => Array<{ leaseId: HeartbeatLease['leaseId']; gpuSeconds: number }>;
  /** Limit for connecting, the challenge and the welcome together. */
  handshakeTimeoutMs: number;
  onOnline: (welcome: Welcome) => void;
  onCommand: (message: HandledServerMessage) => void;
  onClosed: (outcome: ConnectionOutcome) => void;
}

/** Largest server message the agent reads. Server commands are small JSON objects. */
const SERVER_MESSAGE_LIMIT_BYTES = 1024 * 1024;
/** After asking to close, wait this long for the close handshake before dropping the socket. */
const CLOSE_GRACE_MS = 3_000;

type Phase = 'awaiting-challenge' | 'awaiting-welcome' | 'online' | 'closed';

/**
 * One WebSocket connection to the agent gateway: challenge → signed hello → welcome →
 * signed heartbeats every heartbeatSeconds, seq 1, 2, 3… Ends exactly once, through
 * onClosed; never reconnects by itself (the agent does).
 */
export class AgentConnection {
  private readonly socket: WebSocket;
  private readonly log: Logger;
  private phase: Phase = 'awaiting-challenge';
  private nonce: string | null = null;
  private seq = 0;
  private onlineSince: number | null = null;
  private lastInboundAt: number;
  private livenessMs = 0;
  private serverError: ServerError | null = null;
  private socketError: string | null = null;
  private closing = false;
  private local: string | null = null;
  private handshakeTimer: NodeJS.Timeout | null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closeGraceTimer: NodeJS.Timeout | null = null;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(private readonly options: ConnectionOptions) {
    this.log = options.logger;
    this.lastInboundAt = options.clock.now();
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.socket = new options.WebSocketImpl(options.url, {
      handshakeTimeout: options.handshakeTimeoutMs,
      maxPayload: SERVER_MESSAGE_LIMIT_BYTES,
      perMessageDeflate: false,
    });
    this.handshakeTimer = setTimeout(() => {
      this.log.warn({ phase: this.phase, timeoutMs: options.handshakeTimeoutMs }, 'no welcome from the cloud in time; reconnecting');
      this.socket.terminate();
    }, options.handshakeTimeoutMs);
    this.socket.on('upgrade', (response) => {
      this.local = normalizeIp(response.socket.localAddress);
    });
    this.socket.on('open', () => this.log.debug({ url: options.url, localAddress: this.local }, 'connected; waiting for the challenge'));
    this.socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    this.socket.on('pong', () => {
      this.lastInboundAt = options.clock.now();
    });
    this.socket.on('error', (err) => {
      this.socketError = err.message;
      this.log.debug({ err }, 'agent socket error');
    });
    this.socket.on('close', (code, reason) => this.closed(code, reason.toString('utf8')));
  }

  /** This end's IP address on the connection to the cloud (IPv4-mapped IPv6 unwrapped), once connected. */
  get localAddress(): string | null {
    return this.local;
  }

  /** Numbers, signs and sends a message; false when not online. Throws IdlegridError for a message the server would refuse. */
  send(message: OutgoingAgentMessage): boolean {
    if (this.phase !== 'online' || this.closing || this.nonce === null || this.socket.readyState !== WebSocket.OPEN) return false;
    const seq = this.seq + 1;
    const signed = signAgentMessage(this.options.keypair, { ...message, seq }, this.nonce);
    const schema = AGENT_SESSION_MESSAGES[message.type] as z.ZodType<AgentSessionMessage>;
    const checked = schema.safeParse(signed);
    if (!checked.success) {
      const first = checked.error.issues[0];
      throw new IdlegridError('AGENT_MALFORMED', {
        reason: `outgoing ${message.type}: ${first ? `${first.path.join('.')}: ${first.message}` : 'schema mismatch'}`,
      });
    }
    const text = JSON.stringify(signed);
    const bytes = Buffer.byteLength(text, 'utf8');
    const limitBytes = agentMessageLimitBytes(message.type);
    if (bytes > limitBytes) {
      throw new IdlegridError('AGENT_MESSAGE_TOO_LARGE', { bytes, limitBytes });
    }
    this.seq = seq;
    this.socket.send(text, (err) => {
      if (err) this.log.debug({ err, type: message.type, seq }, 'send failed');
    });
    return true;
  }

  /** Closes the connection (1000 = normal) and resolves once it has ended. */
  close(code = 1000, reason = 'agent stopping'): Promise<void> {
    if (this.phase !== 'closed' && !this.closing) {
      this.closing = true;
      this.stopTimers();
      this.socket.close(code, reason);
      this.closeGraceTimer = setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS);
    }
    return this.closedPromise;
  }

  private receive(data: RawData, isBinary: boolean): void {
    this.lastInboundAt = this.options.clock.now();
    if (this.phase === 'closed' || this.closing) return;
    if (isBinary) {
      this.log.warn('ignored a binary frame from the cloud');
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(rawText(data));
    } catch {
      this.log.warn('ignored a server message that is not JSON');
      return;
    }
    const parsed = serverMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
      this.log.warn({ type: typeof type === 'string' ? type.slice(0, 40) : undefined, issue: parsed.error.issues[0]?.message }, 'ignored an unknown or invalid server message');
      return;
    }
    this.handle(parsed.data);
  }

  private handle(message: ServerMessage): void {
    switch (message.type) {
      case 'challenge':
        if (this.phase === 'awaiting-challenge') this.answerChallenge(message.nonce, message.protocolVersion);
        else this.log.warn({ phase: this.phase }, 'ignored an unexpected challenge');
        return;
      case 'welcome':
        if (this.phase === 'awaiting-welcome') this.goOnline(message);
        else this.log.warn({ phase: this.phase }, 'ignored an unexpected welcome');
        return;
      case 'error':
        this.serverError = message;
        this.log.warn({ code: message.code, details: message.details }, `cloud refused the agent: ${message.message}`);
        void this.close(1000, 'closing after server error');
        return;
      default:
        if (this.phase === 'online') this.options.onCommand(message);
        else this.log.warn({ type: message.type, phase: this.phase }, 'ignored a command before welcome');
    }
  }

  private answerChallenge(nonce: string, protocolVersion: number): void {
    if (protocolVersion !== AGENT_PROTOCOL_VERSION) {
      this.log.warn({ server: protocolVersion, agent: AGENT_PROTOCOL_VERSION }, 'the cloud speaks another protocol version');
    }
    this.nonce = nonce;
    const hello = signAgentMessage(this.options.keypair, { type: 'hello' as const, nonce, ...this.options.hello }, nonce);
    const checked = helloSchema.safeParse(hello);
    if (!checked.success) {
      this.log.error({ issue: checked.error.issues[0] }, 'hello does not match the protocol schema');
      void this.close(1000, 'invalid hello');
      return;
    }
    this.phase = 'awaiting-welcome';
    this.socket.send(JSON.stringify(hello));
  }

  private goOnline(welcome: Welcome): void {
    this.clearHandshakeTimer();
    this.phase = 'online';
    this.onlineSince = this.options.clock.now();
    const intervalMs = Math.max(10, Math.round(welcome.heartbeatSeconds * 1000));
    // Ping with every heartbeat; a silent peer for this long means a dead link (half-open TCP).
    this.livenessMs = Math.max(welcome.nodeLossSeconds * 1000, 3 * intervalMs);
    this.heartbeatTimer = setInterval(() => this.beat(), intervalMs);
    this.options.onOnline(welcome);
  }

  private beat(): void {
    const now = this.options.clock.now();
    if (now - this.lastInboundAt > this.livenessMs) {
      this.log.warn({ silentMs: now - this.lastInboundAt }, 'the cloud stopped answering; reconnecting');
      this.socket.terminate();
      return;
    }
    const load = this.options.sampleLoad();
    try {
      const coordinate = this.options.coordinate();
      const leases = this.options.leases?.() ?? [];
      this.send({ type: 'heartbeat', sentAt: Math.floor(now), load: { ...load, gpuUtilization: [] }, coordinate, leases });
      this.socket.ping();
    } catch (err) {
      this.log.error({ err }, 'could not send a heartbeat');
    }
  }

  private closed(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    const wasOnline = this.onlineSince !== null;
    this.phase = 'closed';
    this.stopTimers();
    if (this.closeGraceTimer) clearTimeout(this.closeGraceTimer);
    const onlineMs = this.onlineSince === null ? 0 : Math.max(0, this.options.clock.now() - this.onlineSince);
    this.resolveClosed();
    this.options.onClosed({ wasOnline, onlineMs, code, reason, serverError: this.serverError, socketError: this.socketError });
  }

  private stopTimers(): void {
    this.clearHandshakeTimer();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}

/** `::ffff:10.0.0.5` → `10.0.0.5`; undefined → null. */
export function normalizeIp(address: string | undefined): string | null {
  if (!address) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
