/**
 * The hostile agent corpus: each case is data — what a connection sends (before or after a
 * correct hello) and the coded refusal the gateway must answer before it closes the connection.
 */
import { generateKeypair, signAgentMessage, type Keypair } from '@idlegrid/protocol';
import type { TestAgent } from '../testing/test-agent.ts';

export interface AgentWorld {
  /** A device that is online throughout: forgeries must never touch its session. */
  victim: Keypair;
  /** A message signed on another connection (its nonce), captured by an attacker. */
  captured: { heartbeat: string; hello: string };
  /** The per-connection message burst the gateway runs with. */
  messageBurst: number;
}

export interface AgentCase {
  category: string;
  name: string;
  /** Say a correct hello first (with `keypair`, default a fresh key). */
  afterHello: boolean;
  keypair?: Keypair;
  send: (agent: TestAgent, w: AgentWorld) => void;
  /** The coded error frame expected (absent: the transport itself closes, e.g. ws's 1009), and the close code. */
  expect: { code?: string; closeCode: number };
  /** Whole seconds the case may take (a hello timeout needs longer). */
  waitSeconds?: number;
}

const signed = (agent: TestAgent, body: Record<string, unknown>, signer: Keypair = agent.keypair) =>
  JSON.stringify(signAgentMessage(signer, body, agent.nonce));

/** A body signed correctly, then one field changed. */
function tampered(agent: TestAgent, seq: number): string {
  const message = signAgentMessage(agent.keypair, agent.heartbeatBody(seq), agent.nonce);
  return JSON.stringify({ ...message, load: { cpu: 0.99, memoryUsedBytes: 2 ** 40, gpuUtilization: [] } });
}

export function agentCases(w: AgentWorld): AgentCase[] {
  const refusal = (code: string, status: number) => ({ code, closeCode: 4000 + status });
  return [
    // ---- forged ----
    { category: 'forged', name: 'heartbeat with random signature bytes', afterHello: true, send: (a) => a.sendRaw(JSON.stringify({ ...a.heartbeatBody(1), sig: '1'.repeat(88) })), expect: refusal('AGENT_BAD_SIGNATURE', 401) },
    { category: 'forged', name: 'heartbeat signed by another device key', afterHello: true, send: (a) => a.heartbeat(1, generateKeypair()), expect: refusal('AGENT_BAD_SIGNATURE', 401) },
    { category: 'forged', name: 'heartbeat signed by the victim device on X’s session', afterHello: true, send: (a, world) => a.heartbeat(1, world.victim), expect: refusal('AGENT_BAD_SIGNATURE', 401) },
    { category: 'forged', name: 'signed heartbeat with a field changed after signing', afterHello: true, send: (a) => a.sendRaw(tampered(a, 1)), expect: refusal('AGENT_BAD_SIGNATURE', 401) },
    { category: 'forged', name: 'heartbeat without a signature', afterHello: true, send: (a) => a.sendRaw(JSON.stringify(a.heartbeatBody(1))), expect: refusal('AGENT_MALFORMED', 400) },
    { category: 'forged', name: 'hello for device Y signed by X', afterHello: false, send: (a, world) => a.sendRaw(signed(a, a.helloBody({ deviceKey: world.victim.address }))), expect: refusal('AGENT_BAD_SIGNATURE', 401) },
    { category: 'forged', name: 'hello for device Y paying out to X, signed by X', afterHello: false, send: (a, world) => a.sendRaw(signed(a, a.helloBody({ deviceKey: world.victim.address, payout: a.keypair.address }))), expect: refusal('AGENT_BAD_SIGNATURE', 401) },
    { category: 'forged', name: 'verify-result signed by another key', afterHello: true, send: (a) => a.sendRaw(signed(a, { type: 'verify-result', seq: 1, challengeId: 'vfy_x', checksums: [], elapsedMs: 1 }, generateKeypair())), expect: refusal('AGENT_BAD_SIGNATURE', 401) },

    // ---- replayed ----
    { category: 'replayed', name: 'same seq twice', afterHello: true, send: (a) => {
      const m = signed(a, a.heartbeatBody(1));
      a.sendRaw(m);
      a.sendRaw(m);
    }, expect: refusal('AGENT_SEQ_REPLAY', 400) },
    { category: 'replayed', name: 'heartbeat captured on another connection', afterHello: true, send: (a, world) => a.sendRaw(world.captured.heartbeat), expect: refusal('AGENT_BAD_SIGNATURE', 401) },
    { category: 'replayed', name: 'hello captured on another connection', afterHello: false, send: (a, world) => a.sendRaw(world.captured.hello), expect: refusal('AGENT_MALFORMED', 400) },
    { category: 'replayed', name: 'seq 0', afterHello: true, send: (a) => a.sendRaw(signed(a, a.heartbeatBody(0))), expect: refusal('AGENT_MALFORMED', 400) },

    // ---- reordered / gaps ----
    { category: 'reordered', name: 'seq 2 before 1', afterHello: true, send: (a) => a.sendRaw(signed(a, a.heartbeatBody(2))), expect: refusal('AGENT_SEQ_GAP', 400) },
    { category: 'reordered', name: 'seq 1, 3', afterHello: true, send: (a) => [1, 3].forEach((s) => a.sendRaw(signed(a, a.heartbeatBody(s)))), expect: refusal('AGENT_SEQ_GAP', 400) },
    { category: 'reordered', name: 'seq 1, 2, 1', afterHello: true, send: (a) => [1, 2, 1].forEach((s) => a.sendRaw(signed(a, a.heartbeatBody(s)))), expect: refusal('AGENT_SEQ_REPLAY', 400) },
    { category: 'reordered', name: 'seq jumps to 2^53', afterHello: true, send: (a) => a.sendRaw(signed(a, a.heartbeatBody(2 ** 53))), expect: refusal('AGENT_MALFORMED', 400) },

    // ---- oversized ----
    { category: 'oversized', name: '100 KiB heartbeat', afterHello: true, send: (a) => a.sendRaw(JSON.stringify({ ...a.heartbeatBody(1), pad: 'x'.repeat(100 * 1024) })), expect: refusal('AGENT_MESSAGE_TOO_LARGE', 413) },
    { category: 'oversized', name: '100 KiB verify-result before hello', afterHello: false, send: (a) => a.sendRaw(JSON.stringify({ type: 'verify-result', pad: 'x'.repeat(100 * 1024) })), expect: refusal('AGENT_MESSAGE_TOO_LARGE', 413) },
    { category: 'oversized', name: '2 MiB frame (past the transport limit)', afterHello: true, send: (a) => a.sendRaw('x'.repeat(2 * 1024 * 1024)), expect: { closeCode: 1009 } },
    { category: 'oversized', name: '60 KiB hello', afterHello: false, send: (a) => a.sendRaw(signed(a, a.helloBody({ agentVersion: 'v'.repeat(60 * 1024) }))), expect: refusal('AGENT_MALFORMED', 400) },

    // ---- malformed ----
    { category: 'malformed', name: 'not JSON', afterHello: false, send: (a) => a.sendRaw('{"type": "hello", '), expect: refusal('AGENT_MALFORMED', 400) },
    { category: 'malformed', name: 'a JSON array', afterHello: false, send: (a) => a.sendRaw('[1,2,3]'), expect: refusal('AGENT_MALFORMED', 400) },
    { category: 'malformed', name: 'type is a number', afterHello: true, send: (a) => a.sendRaw('{"type": 7, "seq": 1}'), expect: refusal('AGENT_MALFORMED', 400) },
    { category: 'malformed', name: 'binary frame', afterHello: true, send: (a) => a.sendRaw(Buffer.from([0, 1, 2, 3])), expect: refusal('AGENT_MALFORMED', 400) },
    { category: 'malformed', name: 'hello without hardware', afterHello: false, send: (a) => a.sendRaw(signed(a, a.helloBody({ hardware: undefined }))), expect: refusal('AGENT_MALFORMED', 400) },
    { category: 'malformed', name: 'hello from protocol version 99', afterHello: false, send: (a) => a.sendRaw(signed(a, a.helloBody({ protocolVersion: 99 }))), expect: refusal('AGENT_MALFORMED', 400) },
    { category: 'malformed', name: 'hello with a negative price', afterHello: false, send: (a) => a.sendRaw(signed(a, a.helloBody({ pricePerGpuHour: '-3' }))), expect: refusal('AGENT_MALFORMED', 400) },
    { category: 'malformed', name: 'hello claiming 10^9 slots', afterHello: false, send: (a) => a.sendRaw(signed(a, a.helloBody({ hardware: { ...(a.helloBody()['hardware'] as object), offer: { model: 'cpu', slots: 1e9 } } }))), expect: refusal('AGENT_MALFORMED', 400) },
    { category: 'malformed', name: 'heartbeat with a string seq', afterHello: true, send: (a) => a.sendRaw(signed(a, { ...a.heartbeatBody(1), seq: '1' })), expect: refusal('AGENT_MALFORMED', 400) },

    // ---- unknown types and wrong order ----
    { category: 'unknown type', name: 'mine-bitcoin', afterHello: true, send: (a) => a.sendRaw(signed(a, { type: 'mine-bitcoin', seq: 1 })), expect: refusal('AGENT_UNKNOWN_MESSAGE', 400) },
    ...['__proto__', 'constructor', 'hasOwnProperty'].map((type): AgentCase => ({
      category: 'unknown type', name: type, afterHello: true, send: (a) => a.sendRaw(signed(a, { type, seq: 1 })), expect: refusal('AGENT_UNKNOWN_MESSAGE', 400),
    })),
    { category: 'unknown type', name: 'a server message type (welcome)', afterHello: true, send: (a) => a.sendRaw(signed(a, { type: 'welcome', seq: 1 })), expect: refusal('AGENT_UNKNOWN_MESSAGE', 400) },
    { category: 'unknown type', name: 'heartbeat before hello', afterHello: false, send: (a) => a.heartbeat(1), expect: refusal('AGENT_NOT_HELLO', 400) },
    { category: 'unknown type', name: 'second hello', afterHello: true, send: (a) => a.sendRaw(signed(a, a.helloBody())), expect: refusal('AGENT_MALFORMED', 400) },

    // ---- slow ----
    { category: 'slow hello', name: 'connects and never says hello', afterHello: false, send: () => undefined, expect: refusal('AGENT_HELLO_TIMEOUT', 408), waitSeconds: 5 },
    { category: 'slow hello', name: 'sends pings but never a hello', afterHello: false, send: (a) => {
      const t = setInterval(() => (a.socket.readyState === a.socket.OPEN ? a.socket.ping() : clearInterval(t)), 100);
    }, expect: refusal('AGENT_HELLO_TIMEOUT', 408), waitSeconds: 5 },

    // ---- flood ----
    { category: 'flood', name: `correctly signed heartbeats past a burst of ${w.messageBurst}`, afterHello: true, send: (a) => {
      for (let seq = 1; seq <= w.messageBurst * 3; seq++) a.sendRaw(signed(a, a.heartbeatBody(seq)));
    }, expect: refusal('RATE_LIMITED', 429), waitSeconds: 10 },
    { category: 'flood', name: 'garbage frames before hello', afterHello: false, send: (a) => {
      for (let i = 0; i < 1000; i++) a.sendRaw(`garbage ${i}`);
    }, expect: refusal('AGENT_MALFORMED', 400) },
  ];
}
