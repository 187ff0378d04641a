import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '@idlegrid/domain';
import { generateKeypair, heartbeatSchema, probeResultSchema } from '@idlegrid/protocol';
import { estimateRtt, INITIAL_VIVALDI_ERROR } from '@idlegrid/scheduler';
import { COORDINATE_FILE, startAgent, type AgentDeps } from './agent.ts';
import { loadAgentConfig } from './config.ts';
import { startEchoServer } from './rtt/echo-server.ts';
import { measureRtt } from './rtt/measure-rtt.ts';
import { fixtureHardware, memoryLogger, TestGateway, waitFor, type GatewayConnection, type Json } from './testing/test-gateway.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function onlineAgent(gw: TestGateway, dataDir: string, deps: AgentDeps = {}) {
  const config = loadAgentConfig({ HOME: dataDir }, { cloudUrl: gw.url, dataDir, echoHost: '127.0.0.1' });
  const { logger, records } = memoryLogger();
  const handle = await startAgent(config, {
    logger, probe: fixtureHardware, random: seededRandom(7), backoff: { baseMs: 20, capMs: 100 }, ...deps,
  });
  cleanups.push(() => handle.stop());
  await waitFor(() => handle.state === 'online', 'online');
  return { handle, records };
}

async function echoServer() {
  const server = await startEchoServer({ host: '127.0.0.1' });
  cleanups.push(() => server.close());
  return server;
}

const messagesOf = (connection: GatewayConnection | undefined, type: string): Json[] =>
  (connection?.messages ?? []).map((m) => m.message).filter((m) => m['type'] === type);

describe('agent RTT probes', () => {
  it('measures the peers of a probe, reports their RTTs and moves its coordinate', async () => {
    const gw = await TestGateway.start({ heartbeatSeconds: 0.05 });
    cleanups.push(() => gw.close());
    const dataDir = await mkdtemp(join(tmpdir(), 'idlegrid-agent-probe-'));
    const { handle } = await onlineAgent(gw, dataDir);
    const connection = gw.connections[0];
    expect(connection?.hello?.echoPort).toBe(handle.echoPort);
    expect(await measureRtt(`127.0.0.1:${handle.echoPort}`)).toBeGreaterThan(0); // its own echo answers

    const start = handle.coordinate;
    expect(start.error).toBe(INITIAL_VIVALDI_ERROR);
    await waitFor(() => messagesOf(connection, 'heartbeat').length >= 1, 'a heartbeat');
    expect(heartbeatSchema.parse(messagesOf(connection, 'heartbeat')[0]).coordinate).toEqual(start);

    const [a, b] = [await echoServer(), await echoServer()];
    const unreachable = await startEchoServer({ host: '127.0.0.1' });
    await unreachable.close();
    const ids = [generateKeypair().address, generateKeypair().address, generateKeypair().address, generateKeypair().address];
    connection?.socket.send(JSON.stringify({
      type: 'probe',
      peers: [
        { deviceId: ids[0], address: `127.0.0.1:${a.port}`, coordinate: { x: 30, y: 10, h: 1, error: 0.2 } },
        { deviceId: ids[1], address: `127.0.0.1:${b.port}`, coordinate: { x: -20, y: 25, h: 2, error: 0.4 } },
        { deviceId: ids[2], address: `127.0.0.1:${unreachable.port}`, coordinate: { x: 5, y: 5, h: 1, error: 0.1 } },
        { deviceId: ids[3], address: `127.0.0.1:${a.port}` }, // no coordinate: measured, no Vivaldi step
        { deviceId: handle.deviceId, address: `127.0.0.1:${handle.echoPort}` }, // itself: skipped
        { deviceId: ids[0], address: `127.0.0.1:${a.port}` }, // twice: once
      ],
    }));

    const report = await waitFor(() => connection?.messages.find((m) => m.message['type'] === 'probe-result'), 'probe-result');
    expect(report.verified).toBe(true);
    const result = probeResultSchema.parse(report.message);
    expect(result.rtts.map((r) => r.deviceId)).toEqual(ids);
    const [rttA, rttB, rttDown, rttNoCoordinate] = result.rtts.map((r) => r.rttMs);
    for (const rtt of [rttA, rttB, rttNoCoordinate]) {
      expect(rtt).toBeGreaterThan(0);
      expect(rtt).toBeLessThan(100);
    }
    expect(rttDown).toBeNull();

    const moved = handle.coordinate;
    expect(moved).not.toEqual(start);
    // Loopback RTTs are far below the 30 ms the peers' coordinates predict: the device moves towards them.
    const peerA = { x: 30, y: 10, h: 1 };
    expect(estimateRtt(moved, peerA)).toBeLessThan(estimateRtt(start, peerA));
    const seqOfResult = result.seq;
    const next = await waitFor(
      () => messagesOf(connection, 'heartbeat').find((m) => (m['seq'] as number) > seqOfResult),
      'a heartbeat after the probe round',
    );
    const coordinate = heartbeatSchema.parse(next).coordinate;
    expect(coordinate).toEqual(moved);
    expect(coordinate).not.toEqual(start);
    expect(connection?.messages.every((m) => m.verified)).toBe(true);

    // The coordinate is kept for the next start.
    await waitFor(() => existsSync(join(dataDir, COORDINATE_FILE)), 'the saved coordinate');
    await handle.stop();
    const saved = JSON.parse(await readFile(join(dataDir, COORDINATE_FILE), 'utf8')) as { coordinate: unknown };
    expect(saved.coordinate).toEqual(moved);
    const again = await onlineAgent(gw, dataDir);
    expect(again.handle.coordinate).toEqual(moved);
  });

  it('reports an empty round and drops a probe that arrives during a round', async () => {
    const gw = await TestGateway.start({ heartbeatSeconds: 0.05 });
    cleanups.push(() => gw.close());
    const { handle, records } = await onlineAgent(gw, await mkdtemp(join(tmpdir(), 'idlegrid-agent-probe-')), {
      measureRtt: (address) => measureRtt(address, { timeoutMs: 300 }),
    });
    const connection = gw.connections[0];
    // A peer that accepts and never answers keeps the first round busy until the timeout.
    const held: Socket[] = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const socket of held) socket.destroy();
      silent.close(() => resolve());
    }));
    const port = (silent.address() as AddressInfo).port;
    const peer = generateKeypair().address;
    connection?.socket.send(JSON.stringify({ type: 'probe', peers: [{ deviceId: peer, address: `127.0.0.1:${port}` }] }));
    await waitFor(() => held.length === 1, 'the first round to connect');
    connection?.socket.send(JSON.stringify({ type: 'probe', peers: [] }));
    await waitFor(() => records.some((r) => r['msg'] === 'probe ignored: a round is still running'), 'the second probe to be dropped');
    const result = await waitFor(() => messagesOf(connection, 'probe-result')[0], 'the first round');
    expect(probeResultSchema.parse(result).rtts).toEqual([{ deviceId: peer, rttMs: null }]);
    expect(handle.coordinate.error).toBe(INITIAL_VIVALDI_ERROR);

    connection?.socket.send(JSON.stringify({ type: 'probe', peers: [] }));
    const empty = await waitFor(() => messagesOf(connection, 'probe-result')[1], 'the empty round');
    expect(probeResultSchema.parse(empty).rtts).toEqual([]);
  });
});
