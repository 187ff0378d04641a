import type { DeviceId } from '@idlegrid/domain';
import type { AgentSessionMessage, ServerMessage } from '@idlegrid/protocol';
import type { Logger } from 'pino';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An agent → server message before the session numbers and signs it. */
export type OutgoingAgentMessage = DistributiveOmit<AgentSessionMessage, 'seq' | 'sig'>;

/** Server messages that reach handlers once the agent is online. */
export type HandledServerMessageType = 'assign' | 'release' | 'verify' | 'probe';
export type HandledServerMessage<T extends HandledServerMessageType = HandledServerMessageType> = Extract<ServerMessage, { type: T }>;

export const HANDLED_SERVER_MESSAGE_TYPES: readonly HandledServerMessageType[] = ['assign', 'release', 'verify', 'probe'];

/** What a handler may use: the device, a logger, and the session's signed `send`. */
export interface SessionContext {
  readonly deviceId: DeviceId;
  readonly logger: Logger;
  /**
   * Numbers (next seq of the current connection), signs and sends a message. Returns false
   * when the agent is not online (the message is dropped). Throws IdlegridError when the
   * message would not pass the server's schema.
   */
  send(message: OutgoingAgentMessage): boolean;
}

export type ServerMessageHandler<T extends HandledServerMessageType> = (
  message: HandledServerMessage<T>,
  context: SessionContext,
) => void | Promise<void>;

/**
 * One handler per server command. Ray lifecycle (assign/release), proof of GPU (verify)
 * and RTT probes (probe) plug in here; handlers may be async, and a handler that throws
 * or rejects is logged without affecting the connection.
 */
export type ServerMessageHandlers = { [T in HandledServerMessageType]: ServerMessageHandler<T> };

/** The handlers of an agent that does not act on commands yet: each command is logged. */
export function loggingHandlers(): ServerMessageHandlers {
  return {
    assign: (m, { logger }) => logger.info({ leaseId: m.leaseId, role: m.role, resources: m.resources }, 'assign received; no Ray handler installed'),
    release: (m, { logger }) => logger.info({ leaseId: m.leaseId, reason: m.reason }, 'release received; no Ray handler installed'),
    verify: (m, { logger }) => logger.info({ challengeId: m.challengeId, n: m.n }, 'verify received; no verification handler installed'),
    probe: (m, { logger }) => logger.info({ peers: m.peers.length }, 'probe received; no RTT probe handler installed'),
  };
}

/** Calls the handler for a message, logging a throw or rejection instead of propagating it. */
export function dispatchServerMessage(handlers: ServerMessageHandlers, message: HandledServerMessage, context: SessionContext): void {
  const handler = handlers[message.type] as ServerMessageHandler<HandledServerMessageType>;
  const fail = (err: unknown): void => context.logger.error({ err, type: message.type }, 'server message handler failed');
  try {
    const result = handler(message, context);
    if (result instanceof Promise) result.catch(fail);
  } catch (err) {
    fail(err);
  }
}
