import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { seededRandom, type LeaseId } from '@idlegrid/domain';
import { AGENT_PROTOCOL_VERSION, heartbeatSchema, leaseStatusSchema, verifyAgentMessage } from '@idlegrid/protocol';
import { startAgent, type AgentDeps, type AgentState } from './agent.ts';
import { loadAgentConfig } from './config.ts';
import { measureRtt } from './rtt/measure-rtt.ts';
import type { WebSocketConstructor } from './connection.ts';
import type { HandledServerMessage, SessionContext } from './handlers.ts';
import { fixtureHardware, memoryLogger, TestGateway, waitFor, type GatewayConnection, type GatewayOptions, type Json } from './testing/test-gateway.ts';
import { AGENT_VERSION } from './version.ts';

const LEASE = 'lse_0123456789abcdefghjk';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function gateway(options: GatewayOptions = {}): Promise<TestGateway> {
  const gw = await TestGateway.start(options);
  cleanups.push(() => gw.close());
  return gw;
}

async function agent(cloudUrl: string, deps: AgentDeps = {}, overrides: { price?: string } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'idlegrid-agent-'));
  const config = loadAgentConfig({ HOME: dataDir }, { cloudUrl, dataDir, pricePerGpuHour: overrides.price, echoHost: '127.0.0.1' });
  const { logger, records } = memoryLogger();
  const handle = await startAgent(config, {
    logger, probe: fixtureHardware, random: seededRandom(42), backoff: { baseMs: 20, capMs: 100 }, ...deps,
  });
  const states: AgentState[] = [handle.state];
  handle.onState((state) => states.push(state));
  cleanups.push(() => handle.stop());
  return { handle, records, states, config };
}

const heartbeatsOf = (gw: TestGateway, connection: GatewayConnection | undefined): Json[] => gw.heartbeats(connection);
const seqs = (messages: Json[]): unknown[] => messages.map((m) => m['seq']);

describe('agent session', () => {
  it('proves its key, heartbeats with seq 1, 2, 3…, reconnects with a fresh nonce and seq, and stops cleanly', async () => {
    const gw = await gateway({ heartbeatSeconds: 0.05 });
    const { handle, states, config } = await agent(gw.url);
    expect(handle.hardware.offer).toEqual({ model: 'H100', slots: 1 });
    expect(JSON.parse(await readFile(config.keypairPath, 'utf8'))).toHaveLength(64);

    await waitFor(() => handle.state === 'online', 'online');
    const first = gw.connections[0];
    expect(first?.helloVerified).toBe(true);
    expect(first?.hello).toMatchObject({
      type: 'hello', nonce: first?.nonce, deviceKey: handle.deviceId, agentVersion: AGENT_VERSION,
      protocolVersion: AGENT_PROTOCOL_VERSION, region: 'local', pricePerGpuHour: '2.00', payout: handle.deviceId,
      echoPort: handle.echoPort,
    });
    expect(handle.echoPort).toBeGreaterThan(0);
    expect(first?.hello).not.toHaveProperty('seq');
    expect(first?.hello?.hardware.gpus[0]).toMatchObject({ model: 'H100', memoryMiB: 81559 });

    await waitFor(() => heartbeatsOf(gw, first).length >= 3, 'three heartbeats');
    const beats = heartbeatsOf(gw, first);
    expect(seqs(beats).slice(0, 3)).toEqual([1, 2, 3]);
    expect(first?.messages.every((m) => m.verified)).toBe(true);
    for (const beat of beats) {
      const parsed = heartbeatSchema.parse(beat);
      expect(parsed.load.gpuUtilization).toEqual([]);
      expect(parsed.leases).toEqual([]);
      expect(parsed.coordinate).toEqual(handle.coordinate); // the region's starting point until a probe round
    }
    expect(verifyAgentMessage(handle.deviceId, beats[0]!, 'another-nonce-aaaaaaaa')).toBe(false);

    first?.socket.close(1012, 'server restart');
    await waitFor(() => gw.connections.length === 2 && handle.state === 'online', 'the second connection');
    const second = gw.connections[1];
    expect(second?.nonce).not.toBe(first?.nonce);
    expect(second?.helloVerified).toBe(true);
    expect(second?.hello?.nonce).toBe(second?.nonce);
    await waitFor(() => heartbeatsOf(gw, second).length >= 3, 'three heartbeats on the second connection');
    expect(seqs(heartbeatsOf(gw, second)).slice(0, 3)).toEqual([1, 2, 3]);
    expect(second?.messages.every((m) => m.verified)).toBe(true);
    expect(states).toEqual(['connecting', 'online', 'backoff', 'connecting', 'online']);

    await handle.stop();
    expect(handle.state).toBe('stopped');
    expect(await measureRtt(`127.0.0.1:${handle.echoPort}`, { timeoutMs: 200 })).toBeNull(); // the echo stopped too
    await waitFor(() => second?.closeCode !== null, 'the server to see the close');
    expect(second?.closeCode).toBe(1000);
    const counted = heartbeatsOf(gw, second).length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heartbeatsOf(gw, second).length).toBe(counted);
    expect(gw.connections).toHaveLength(2);
    await handle.stop();
    expect(states.at(-1)).toBe('stopped');
  });

  it('ignores invalid server messages and hands commands to the handler map with a signed send', async () => {
    const gw = await gateway({ heartbeatSeconds: 0.05 });
    const received: HandledServerMessage[] = [];
    const sendErrors: unknown[] = [];
    const assign = (message: HandledServerMessage<'assign'>, context: SessionContext): void => {
      received.push(message);
      try {
        context.send({ type: 'lease-status', leaseId: 'bad' as LeaseId, state: 'starting', rayNodeId: null, endpoint: null, reason: null });
      } catch (err) {
        sendErrors.push(err);
      }
      context.send({ type: 'lease-status', leaseId: message.leaseId, state: 'starting', rayNodeId: null, endpoint: null, reason: null });
    };
    const failing = (): Promise<void> => Promise.reject(new Error('handler exploded'));
    const { handle, records } = await agent(gw.url, { handlers: { assign, release: failing } });
    await waitFor(() => handle.state === 'online', 'online');
    const connection = gw.connections[0]!;
    connection.socket.send('not json');
    connection.socket.send(JSON.stringify({ type: 'bogus' }));
    connection.socket.send(JSON.stringify({ type: 'assign', leaseId: 'nope' }));
    connection.socket.send(JSON.stringify({ type: 'release', leaseId: LEASE, reason: 'done' }));
    connection.socket.send(JSON.stringify({
      // `head` is the current schema's field; `headAddress`/`ports` the previous one's (extra keys are stripped).
      type: 'assign', leaseId: LEASE, role: 'head', head: null, headAddress: null, rayToken: 'x'.repeat(32),
      resources: { gpus: 1, cpus: 4 }, ports: { gcs: 6379 }, expiresAt: Date.now() + 60_000,
    }));
    const status = await waitFor(() => connection.messages.find((m) => m.message['type'] === 'lease-status'), 'lease-status');
    expect(received.map((m) => m.type)).toEqual(['assign']);
    expect(sendErrors).toHaveLength(1);
    expect(sendErrors[0]).toMatchObject({ code: 'AGENT_MALFORMED' });
    expect(status.verified).toBe(true);
    expect(leaseStatusSchema.parse(status.message).leaseId).toBe(LEASE);
    await waitFor(() => heartbeatsOf(gw, connection).length >= 2, 'heartbeats after the commands');
    expect(seqs(connection.messages.map((m) => m.message))).toEqual(connection.messages.map((_, i) => i + 1));
    expect(gw.connections).toHaveLength(1);
    const warnings = records.filter((r) => r['level'] === 40).map((r) => r['msg']);
    expect(warnings).toContain('ignored a server message that is not JSON');
    expect(warnings.filter((m) => m === 'ignored an unknown or invalid server message')).toHaveLength(2);
    await waitFor(() => records.some((r) => r['msg'] === 'server message handler failed'), 'the failing handler to be logged');
  });

  it('stops for good when the cloud says another agent took over the device key', async () => {
    const gw = await gateway({ refuseWith: () => ({ code: 'AGENT_REPLACED', message: 'Device connected again' }) });
    const { handle } = await agent(gw.url);
    const errors: unknown[] = [];
    handle.onState((state, detail) => {
      if (state === 'stopped') errors.push(detail.error);
    });
    await waitFor(() => handle.state === 'stopped', 'stopped');
    expect(errors[0]).toMatchObject({ code: 'CLOUD_ERROR', context: { status: 409, code: 'AGENT_REPLACED' } });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(gw.connections).toHaveLength(1);
    await handle.stop();
  });

  it('retries after other refusals, a silent server and a silent link', async () => {
    let refusals = 1;
    const refusing = await gateway({ refuseWith: () => (refusals-- > 0 ? { code: 'AGENT_SEQ_GAP', message: 'gap' } : null) });
    const a = await agent(refusing.url);
    await waitFor(() => a.handle.state === 'online', 'online after a refusal');
    expect(refusing.connections).toHaveLength(2);

    const silent = await gateway({ mode: 'silent' });
    const b = await agent(silent.url, { handshakeTimeoutMs: 100 });
    await waitFor(() => silent.connections.length >= 2, 'a reconnect after the handshake timeout');
    expect(b.states).toContain('backoff');

    const deaf = await gateway({ autoPong: false, heartbeatSeconds: 0.02, nodeLossSeconds: 0.1 });
    const c = await agent(deaf.url);
    await waitFor(() => deaf.connections.length >= 2, 'a reconnect after the link went silent');
    expect(c.records.some((r) => r['msg'] === 'the cloud stopped answering; reconnecting')).toBe(true);
  });

  it('backs off while the cloud is unreachable and stops promptly from any state', async () => {
    const port = await freePort();
    const { handle, states, records } = await agent(`http://127.0.0.1:${port}`, {}, { price: '1.5' });
    expect(handle.pricePerGpuHour).toBe('1.5');
    await waitFor(() => states.filter((s) => s === 'backoff').length >= 3, 'three failed attempts');
    expect(records.some((r) => r['msg'] === 'could not join the cloud; retrying' && typeof r['error'] === 'string')).toBe(true);
    await handle.stop();
    expect(handle.state).toBe('stopped');

    const Broken = function () {
      throw new Error('bad socket');
    } as unknown as WebSocketConstructor;
    const broken = await agent('http://127.0.0.1:1', { WebSocketImpl: Broken });
    await waitFor(() => broken.states.filter((s) => s === 'backoff').length >= 2, 'retries after a throwing socket');
    await broken.handle.stop();

    const silent = await gateway({ mode: 'silent' });
    const connecting = await agent(silent.url);
    await waitFor(() => silent.connections.length === 1, 'the connection');
    await connecting.handle.stop();
    expect(connecting.handle.state).toBe('stopped');
    await waitFor(() => silent.connections[0]?.closeCode !== null, 'the server to see the close');

    // A server that accepts TCP but never answers the upgrade: stop() while the socket is still connecting.
    const held: Socket[] = [];
    const blackHole = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const socket of held) socket.destroy();
      blackHole.close(() => resolve());
    }));
    const upgrading = await agent(`http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`);
    await waitFor(() => held.length === 1, 'the TCP connection');
    expect(upgrading.handle.state).toBe('connecting');
    await upgrading.handle.stop();
    expect(upgrading.states).toEqual(['connecting', 'stopped']);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
