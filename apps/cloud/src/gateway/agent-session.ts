import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import {
  IdlegridError, isIdlegridError, parseUsd, toDeviceId, type Clock, type DeviceId, type ErrorCode, type ErrorContext,
} from '@idlegrid/domain';
import {
  AGENT_MESSAGE_LIMIT_BYTES, AGENT_PROTOCOL_VERSION, AGENT_SESSION_MESSAGES, agentMessageLimitBytes, helloSchema,
  VERIFY_RESULT_LIMIT_BYTES, verifyAgentMessage,
  type AgentSessionMessage, type HelloMessage,
} from '@idlegrid/protocol';
import type { z } from 'zod';

/** The protocol settings and instruments every session shares. */
export interface SessionSettings {
  clock: Clock;
  logger: Logger;
  heartbeatSeconds: number;
  nodeLossSeconds: number;
  helloTimeoutSeconds: number;
  /** Per-connection message budget (token bucket); past it the connection is refused with RATE_LIMITED. Absent: no limit. */
  messageRate?: { perSecond: number; burst: number };
  countMessage: (type: string, result: string) => void;
}

/** What a session needs from the control plane. */
export interface SessionHost extends SessionSettings {
  /** Registers the device after a verified hello; rejects if it cannot be recorded. */
  onHello: (session: AgentSession, hello: HelloMessage) => Promise<void>;
  onMessage: (session: AgentSession, message: AgentSessionMessage) => void;
  onClose: (session: AgentSession) => void;
  /** After `welcome` was sent: the agent is now ready for commands (verification challenges). */
  onWelcomed?: (session: AgentSession) => void;
}

let nextSessionId = 1;

/**
 * One agent connection: challenge → signed hello → signed messages with seq strictly
 * increasing by one. Any violation is answered with a coded error and the connection closed.
 */
export class AgentSession {
  readonly id = nextSessionId++;
  readonly nonce = randomBytes(24).toString('base64url');
  deviceId: DeviceId | undefined;
  private lastSeq = 0;
  private closed = false;
  private helloPending = false;
  private readonly helloTimer: NodeJS.Timeout;
  private tokens: number;
  private tokensAtMs: number;

  constructor(
    private readonly socket: WebSocket,
    private readonly host: SessionHost,
    /** The agent's IP as this server sees it (IPv4-mapped IPv6 unwrapped). */
    readonly remoteIp: string | null,
  ) {
    this.tokens = host.messageRate?.burst ?? 0;
    this.tokensAtMs = host.clock.now();
    this.helloTimer = setTimeout(
      () => this.fail(new IdlegridError('AGENT_HELLO_TIMEOUT', { seconds: host.helloTimeoutSeconds })),
      host.helloTimeoutSeconds * 1000,
    );
    socket.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    socket.on('close', () => this.closedByPeer());
    socket.on('error', (err) => host.logger.debug({ err, session: this.id }, 'agent socket error'));
    this.send({ type: 'challenge', nonce: this.nonce, protocolVersion: AGENT_PROTOCOL_VERSION, serverTime: host.clock.now() });
  }

  send(message: Record<string, unknown>): boolean {
    if (this.closed) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Sends a coded error, then closes with 4000 + the code's HTTP status. */
  close<C extends ErrorCode>(code: C, context: ErrorContext<C>): void {
    this.fail(new IdlegridError(code, context));
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    try {
      this.spendToken();
      this.handle(data, isBinary);
    } catch (err) {
      this.fail(isIdlegridError(err) ? err : new IdlegridError('AGENT_MALFORMED', { reason: 'unreadable message' }));
    }
  }

  private handle(data: Buffer, isBinary: boolean): void {
    // Only a verify-result from a device past hello may be larger than the general limit.
    const ceiling = this.deviceId === undefined ? AGENT_MESSAGE_LIMIT_BYTES : VERIFY_RESULT_LIMIT_BYTES;
    if (data.length > ceiling) throw new IdlegridError('AGENT_MESSAGE_TOO_LARGE', { bytes: data.length, limitBytes: ceiling });
    if (isBinary) throw new IdlegridError('AGENT_MALFORMED', { reason: 'binary frames are not part of the protocol' });
    let raw: unknown;
    try {
      raw = JSON.parse(data.toString('utf8'));
    } catch {
      throw new IdlegridError('AGENT_MALFORMED', { reason: 'not JSON' });
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || typeof (raw as { type?: unknown }).type !== 'string') {
      throw new IdlegridError('AGENT_MALFORMED', { reason: 'expected a JSON object with a string "type"' });
    }
    const message = raw as Record<string, unknown> & { type: string };
    const limitBytes = agentMessageLimitBytes(message.type);
    if (data.length > limitBytes) throw new IdlegridError('AGENT_MESSAGE_TOO_LARGE', { bytes: data.length, limitBytes });
    if (this.deviceId === undefined) {
      this.handleHello(message);
      return;
    }
    this.handleSessionMessage(this.deviceId, message);
  }

  /** One token per frame; a flood past the burst is refused (RATE_LIMITED, close 4429). */
  private spendToken(): void {
    const rate = this.host.messageRate;
    if (!rate || rate.perSecond <= 0) return;
    const now = this.host.clock.now();
    this.tokens = Math.min(rate.burst, this.tokens + (Math.max(0, now - this.tokensAtMs) / 1000) * rate.perSecond);
    this.tokensAtMs = now;
    if (this.tokens < 1) throw new IdlegridError('RATE_LIMITED', { retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / rate.perSecond)) });
    this.tokens -= 1;
  }

  private handleHello(message: Record<string, unknown> & { type: string }): void {
    if (message.type !== 'hello') throw new IdlegridError('AGENT_NOT_HELLO', { got: message.type.slice(0, 40) });
    if (this.helloPending) throw new IdlegridError('AGENT_MALFORMED', { reason: 'hello already received' });
    const hello = parse(helloSchema, message);
    if (hello.nonce !== this.nonce) {
      throw new IdlegridError('AGENT_MALFORMED', { reason: 'hello nonce does not match this connection’s challenge' });
    }
    if (!verifyAgentMessage(hello.deviceKey, message, this.nonce)) {
      throw new IdlegridError('AGENT_BAD_SIGNATURE', { deviceId: hello.deviceKey });
    }
    if (hello.protocolVersion !== AGENT_PROTOCOL_VERSION) {
      throw new IdlegridError('AGENT_MALFORMED', { reason: `protocol version ${hello.protocolVersion} is not supported; upgrade the agent` });
    }
    parseUsd(hello.pricePerGpuHour);
    clearTimeout(this.helloTimer);
    this.helloPending = true;
    this.host.onHello(this, hello).then(
      () => {
        if (this.closed) return;
        this.deviceId = toDeviceId(hello.deviceKey);
        this.host.countMessage('hello', 'accepted');
        this.send({
          type: 'welcome',
          deviceId: hello.deviceKey,
          heartbeatSeconds: this.host.heartbeatSeconds,
          nodeLossSeconds: this.host.nodeLossSeconds,
        });
        this.host.onWelcomed?.(this);
      },
      (err: unknown) => {
        this.host.logger.error({ err, deviceId: hello.deviceKey }, 'could not register device');
        this.close('AGENT_STORE_FAILED', { reason: 'device registration failed' });
      },
    );
  }

  private handleSessionMessage(deviceId: DeviceId, message: Record<string, unknown> & { type: string }): void {
    // Own keys only: a type such as "__proto__" or "constructor" must not find Object.prototype's members.
    const schema = Object.hasOwn(AGENT_SESSION_MESSAGES, message.type)
      ? (AGENT_SESSION_MESSAGES as Record<string, z.ZodType<AgentSessionMessage> | undefined>)[message.type]
      : undefined;
    if (!schema) {
      if (message.type === 'hello') throw new IdlegridError('AGENT_MALFORMED', { reason: 'hello already received' });
      throw new IdlegridError('AGENT_UNKNOWN_MESSAGE', { type: message.type.slice(0, 40) });
    }
    const parsed = parse(schema, message);
    if (!verifyAgentMessage(deviceId, message, this.nonce)) throw new IdlegridError('AGENT_BAD_SIGNATURE', { deviceId });
    if (parsed.seq <= this.lastSeq) throw new IdlegridError('AGENT_SEQ_REPLAY', { seq: parsed.seq, lastSeq: this.lastSeq });
    if (parsed.seq !== this.lastSeq + 1) throw new IdlegridError('AGENT_SEQ_GAP', { seq: parsed.seq, expected: this.lastSeq + 1 });
    this.lastSeq = parsed.seq;
    this.host.countMessage(parsed.type, 'accepted');
    this.host.onMessage(this, parsed);
  }

  private fail(error: IdlegridError): void {
    if (this.closed) return;
    this.host.countMessage('any', error.code);
    this.host.logger.info({ session: this.id, deviceId: this.deviceId, code: error.code }, error.message);
    this.send({ type: 'error', code: error.code, message: error.message, details: { ...error.context } });
    this.closed = true;
    clearTimeout(this.helloTimer);
    this.socket.close(4000 + error.httpStatus, error.code);
    this.host.onClose(this);
  }

  private closedByPeer(): void {
    clearTimeout(this.helloTimer);
    if (this.closed) return;
    this.closed = true;
    this.host.onClose(this);
  }
}

function parse<S extends z.ZodType>(schema: S, message: unknown): z.output<S> {
  const result = schema.safeParse(message);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new IdlegridError('AGENT_MALFORMED', {
      reason: first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'schema mismatch',
    });
  }
  return result.data;
}
