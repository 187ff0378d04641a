// The agent's lease commands end to end over the WebSocket, with a fake Ray launcher.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '@idlegrid/domain';
import { heartbeatSchema, leaseStatusSchema } from '@idlegrid/protocol';
import { startAgent } from './agent.ts';
import { loadAgentConfig } from './config.ts';
import type { LaunchedNode, NodeRequest } from './leases/ray-launcher.ts';
import { fixtureHardware, memoryLogger, TestGateway, waitFor, type GatewayConnection, type Json } from './testing/test-gateway.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const LEASE = 'lse_0000000000000000000b';
const messagesOf = (connection: GatewayConnection | undefined, type: string): Json[] =>
  (connection?.messages ?? []).filter((m) => m.verified).map((m) => m.message).filter((m) => m['type'] === type);

describe('agent leases', () => {
  it('runs assign and release through the lease runtime: signed statuses, usage in heartbeats, the connection IP as node IP', async () => {
    const gw = await TestGateway.start({ heartbeatSeconds: 0.05 });
    cleanups.push(() => gw.close());
    const dataDir = await mkdtemp(join(tmpdir(), 'idlegrid-agent-leases-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const requests: NodeRequest[] = [];
    const stopped: string[] = [];
    const launcher = (request: NodeRequest): Promise<LaunchedNode> => {
      requests.push(request);
      return Promise.resolve({
        rayNodeId: 'a'.repeat(56),
        endpoint: { nodeIp: request.nodeIp, gcsAddress: `${request.nodeIp}:${request.ports.gcs}`, dashboardUrl: `http://${request.nodeIp}:${request.ports.dashboard}` },
        exited: new Promise<string>(() => undefined),
        stop: () => Promise.resolve(void stopped.push(request.leaseId)),
      });
    };
    const config = loadAgentConfig({ HOME: dataDir }, { cloudUrl: gw.url, dataDir, echoHost: '127.0.0.1', rayPortBase: '41000' });
    const { logger } = memoryLogger();
    const handle = await startAgent(config, { logger, probe: fixtureHardware, random: seededRandom(3), launcher });
    cleanups.push(() => handle.stop());
    await waitFor(() => handle.state === 'online', 'online');
    const connection = gw.connections[0];

    connection?.socket.send(JSON.stringify({
      type: 'assign', leaseId: LEASE, role: 'head', head: null, rayToken: 'token-0123456789abcdef', resources: { gpus: 1, cpus: 4 }, expiresAt: Date.now() + 60_000,
    }));
    await waitFor(() => messagesOf(connection, 'lease-status').length >= 2, 'starting + joined');
    const statuses = messagesOf(connection, 'lease-status').map((m) => leaseStatusSchema.parse(m));
    expect(statuses.map((s) => s.state), statuses[1]?.reason ?? '').toEqual(['starting', 'joined']);
    expect(statuses[1]?.endpoint).toMatchObject({ nodeIp: '127.0.0.1' });
    expect(requests[0]).toMatchObject({ nodeIp: '127.0.0.1', gpus: 1, cpus: 4, gpuIndices: [0] }); // the fixture's one H100
    expect(requests[0]?.ports.base).toBeGreaterThanOrEqual(41_000);
    expect(handle.leases()).toMatchObject([{ leaseId: LEASE, state: 'joined', role: 'head' }]);

    await waitFor(
      () => messagesOf(connection, 'heartbeat').map((m) => heartbeatSchema.parse(m)).find((h) => (h.leases[0]?.gpuSeconds ?? 0) > 0),
      'a heartbeat with GPU-seconds',
    );

    connection?.socket.send(JSON.stringify({ type: 'release', leaseId: LEASE, reason: 'cluster released' }));
    await waitFor(() => messagesOf(connection, 'lease-status').length >= 3, 'stopped');
    expect(leaseStatusSchema.parse(messagesOf(connection, 'lease-status')[2])).toMatchObject({ state: 'stopped', reason: 'cluster released' });
    expect(stopped).toEqual([LEASE]);
    expect(handle.leases()).toEqual([]);
  });

  it('stops its Ray nodes on stop(), telling the cloud first', async () => {
    const gw = await TestGateway.start({ heartbeatSeconds: 0.05 });
    cleanups.push(() => gw.close());
    const dataDir = await mkdtemp(join(tmpdir(), 'idlegrid-agent-leases-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const stopped: string[] = [];
    const launcher = (request: NodeRequest): Promise<LaunchedNode> =>
      Promise.resolve({
        rayNodeId: null, endpoint: { nodeIp: request.nodeIp }, exited: new Promise<string>(() => undefined),
        stop: () => Promise.resolve(void stopped.push(request.leaseId)),
      });
    const config = loadAgentConfig({ HOME: dataDir }, { cloudUrl: gw.url, dataDir, echoHost: '127.0.0.1', nodeIp: '192.0.2.77' });
    const handle = await startAgent(config, { logger: memoryLogger().logger, probe: fixtureHardware, launcher });
    await waitFor(() => handle.state === 'online', 'online');
    const connection = gw.connections[0];
    connection?.socket.send(JSON.stringify({
      type: 'assign', leaseId: LEASE, role: 'worker', head: { gcsAddress: '192.0.2.1:20000', dashboardUrl: 'http://192.0.2.1:20001' },
      rayToken: 'token-0123456789abcdef', resources: { gpus: 1, cpus: 4 }, expiresAt: Date.now() + 60_000,
    }));
    await waitFor(() => messagesOf(connection, 'lease-status').length >= 2, 'joined');
    expect(leaseStatusSchema.parse(messagesOf(connection, 'lease-status')[1]).endpoint).toEqual({ nodeIp: '192.0.2.77' });
    await handle.stop();
    expect(stopped).toEqual([LEASE]);
    expect(messagesOf(connection, 'lease-status').map((m) => m['state'])).toEqual(['starting', 'joined', 'stopped']);
  });
});
