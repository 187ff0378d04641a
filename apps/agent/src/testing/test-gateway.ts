import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { pino, type Logger } from 'pino';
import { AGENT_PROTOCOL_VERSION, helloSchema, verifyAgentMessage, type HardwareReport, type HelloMessage } from '@idlegrid/protocol';
import { probeHardware } from '../probe/probe.ts';

/** Test support: a tiny agent gateway that plays the server side of the agent protocol. */

export type Json = Record<string, unknown>;

export interface GatewayConnection {
  readonly socket: WebSocket;
  readonly nonce: string;
  hello: HelloMessage | null;
  helloVerified: boolean;
  /** Messages after hello, each with whether its signature verified for this connection. */
  readonly messages: Array<{ message: Json; verified: boolean }>;
  closeCode: number | null;
}

export interface GatewayOptions {
  heartbeatSeconds?: number;
  nodeLossSeconds?: number;
  /** `silent`: never send the challenge. */
  mode?: 'normal' | 'silent';
  /** Answer each hello with this error instead of a welcome. */
  refuseWith?: (connection: GatewayConnection) => { code: string; message: string } | null;
  /** false: do not answer pings (a cloud that went silent). */
  autoPong?: boolean;
}

export class TestGateway {
  readonly connections: GatewayConnection[] = [];

  private constructor(
    private readonly wss: WebSocketServer,
    private readonly options: GatewayOptions,
  ) {
    wss.on('connection', (socket) => this.accept(socket));
  }

  static async start(options: GatewayOptions = {}): Promise<TestGateway> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/agent', autoPong: options.autoPong ?? true });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    return new TestGateway(wss, options);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  heartbeats(connection: GatewayConnection | undefined): Json[] {
    return (connection?.messages ?? []).map((m) => m.message).filter((m) => m['type'] === 'heartbeat');
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    const connection: GatewayConnection = {
      socket, nonce: randomBytes(18).toString('base64url'), hello: null, helloVerified: false, messages: [], closeCode: null,
    };
    this.connections.push(connection);
    socket.on('close', (code) => {
      connection.closeCode = code;
    });
    socket.on('message', (data) => this.receive(connection, JSON.parse((data as Buffer).toString('utf8')) as Json));
    if (this.options.mode === 'silent') return;
    socket.send(JSON.stringify({ type: 'challenge', nonce: connection.nonce, protocolVersion: AGENT_PROTOCOL_VERSION, serverTime: Date.now() }));
  }

  private receive(connection: GatewayConnection, message: Json): void {
    if (connection.hello === null) {
      connection.hello = helloSchema.parse(message);
      connection.helloVerified = verifyAgentMessage(connection.hello.deviceKey, message, connection.nonce);
      const refusal = this.options.refuseWith?.(connection) ?? null;
      if (refusal) {
        connection.socket.send(JSON.stringify({ type: 'error', ...refusal }));
        connection.socket.close(4409, refusal.code);
        return;
      }
      connection.socket.send(JSON.stringify({
        type: 'welcome',
        deviceId: connection.hello.deviceKey,
        heartbeatSeconds: this.options.heartbeatSeconds ?? 0.05,
        nodeLossSeconds: this.options.nodeLossSeconds ?? 15,
      }));
      return;
    }
    connection.messages.push({ message, verified: verifyAgentMessage(connection.hello.deviceKey, message, connection.nonce) });
  }
}

/** Polls `probe` every 10 ms until it returns a truthy value; fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | null | undefined | false, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The H100 fixture host, probed through a fake nvidia-smi. */
export function fixtureHardware(): Promise<HardwareReport> {
  const read = (name: string) => readFileSync(new URL(`../probe/fixtures/${name}`, import.meta.url), 'utf8');
  const csv = read('nvidia-smi-h100.csv');
  const plain = read('nvidia-smi-h100.txt');
  return probeHardware({
    run: (_file, args) => Promise.resolve(args.length === 0 ? plain : csv),
    host: () => ({ cpuModel: 'Test CPU', cpuCores: 16, memoryBytes: 2 ** 37, platform: 'linux', release: '6.8', arch: 'x64' }),
  });
}

/** A logger that keeps its records in memory, for asserting on what was logged. */
export function memoryLogger(): { logger: Logger; records: Json[] } {
  const records: Json[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line) as Json) });
  return { logger, records };
}
