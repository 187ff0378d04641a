import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toAddress, type LeaseId } from '@idlegrid/domain';
import { generateKeypair, signBytes, type Keypair } from '@idlegrid/protocol';
import { loadCloudConfig } from '../config.ts';
import { startCloud, type RunningCloud } from '../server.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import { fundEscrowForTest } from '../testing/fund-escrow.ts';
import { liveDevice } from '../testing/live-device.ts';

let cloud: RunningCloud;
let upstream: Server;
let upstreamUrl: string;
const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];
let leaseId: LeaseId;
let ownerKey: string;

async function apiKeyFor(kp: Keypair): Promise<string> {
  const c = (await (await fetch(`${cloud.url}/v1/auth/challenge?wallet=${kp.address}`)).json()) as { nonce: string; message: string };
  const res = await fetch(`${cloud.url}/v1/auth/keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ wallet: kp.address, nonce: c.nonce, signature: signBytes(kp, c.message) }) });
  return ((await res.json()) as { apiKey: string }).apiKey;
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ upstream: true, url: req.url }));
    });
  });
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws, req) => {
    ws.send(`hello ${req.url} ${String(req.headers['x-ray-authorization'] !== undefined)} ${String(req.headers.authorization !== undefined)}`);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  const dataDir = await mkdtemp(join(tmpdir(), 'idlegrid-proxy-'));
  cloud = await startCloud(loadCloudConfig({}, { port: 0, dataDir }), { logger: pino({ level: 'silent' }), inspector: new FakeInspector() });
  cloud.cloud.registry.connect(liveDevice());
  const owner = generateKeypair();
  ownerKey = await apiKeyFor(owner);
  await fundEscrowForTest(cloud.store, toAddress(owner.address), 10_000_000n);
  const lease = await cloud.cloud.leases.book(toAddress(owner.address), { gpu: 'cpu', count: 1, hours: 1, topology: 'tight', pay: 'IO', verifiedOnly: false });
  leaseId = lease.id;
});

afterAll(async () => {
  await cloud.close();
  await new Promise<void>((r) => upstream.close(() => r()));
});

async function setHead(dashboardUrl: string | null): Promise<void> {
  const [node] = await cloud.store.leases.nodes(leaseId);
  if (!node) throw new Error('no node');
  await cloud.store.leases.updateNode(node.id, { endpoint: dashboardUrl ? { nodeIp: '127.0.0.1', dashboardUrl, gcsAddress: '127.0.0.1:1' } : null });
}

describe('Ray proxy', () => {
  it('answers 401 without an API key and 404 to another buyer', async () => {
    expect((await fetch(`${cloud.url}/v1/clusters/${leaseId}/ray/api/version`)).status).toBe(401);
    const stranger = await apiKeyFor(generateKeypair());
    const res = await fetch(`${cloud.url}/v1/clusters/${leaseId}/ray/api/version`, { headers: { authorization: `Bearer ${stranger}` } });
    expect(res.status).toBe(404);
    expect(seen).toHaveLength(0);
  });

  it('answers 409 while the head is not up', async () => {
    await setHead(null);
    const res = await fetch(`${cloud.url}/v1/clusters/${leaseId}/ray/api/version`, { headers: { authorization: `Bearer ${ownerKey}` } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('CLUSTER_NOT_READY');
  });

  it('forwards path, query and body with the Ray token and without browser or buyer credentials', async () => {
    await setHead(upstreamUrl);
    const res = await fetch(`${cloud.url}/v1/clusters/${leaseId}/ray/api/jobs/?limit=3`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ownerKey}`, 'content-type': 'application/json', cookie: 'a=b', 'user-agent': 'Mozilla/5.0', origin: 'http://evil' },
      body: JSON.stringify({ entrypoint: 'python x.py' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ upstream: true, url: '/api/jobs/?limit=3' });
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ method: 'POST', url: '/api/jobs/?limit=3', body: '{"entrypoint":"python x.py"}' });
    const lease = await cloud.store.leases.get(leaseId);
    expect(last.headers['x-ray-authorization']).toBe(`Bearer ${lease?.rayToken}`);
    for (const h of ['authorization', 'cookie', 'origin', 'sec-fetch-mode']) expect(last.headers[h]).toBeUndefined();
    expect(last.headers['user-agent'] ?? '').not.toMatch(/Mozilla/);
  });

  it('answers 502 RAY_UNREACHABLE when the head does not answer', async () => {
    await setHead('http://127.0.0.1:1');
    const res = await fetch(`${cloud.url}/v1/clusters/${leaseId}/ray/api/version`, { headers: { authorization: `Bearer ${ownerKey}` } });
    expect(res.status).toBe(502);
  });

  it('carries WebSocket upgrades (job log tails) with the same checks', async () => {
    await setHead(upstreamUrl);
    const wsUrl = `${cloud.url.replace('http', 'ws')}/v1/clusters/${leaseId}/ray/api/jobs/j1/logs/tail`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(refused).toBe(401);
    const first = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${ownerKey}` } });
      ws.on('message', (d: Buffer) => {
        resolve(d.toString());
        ws.close();
      });
      ws.on('error', reject);
    });
    expect(first).toBe('hello /api/jobs/j1/logs/tail true false');
  });

  // Last: it releases the cluster.
  it('answers 410 CLUSTER_ENDED, not "wait", once the cluster is released, though its head address is still on record', async () => {
    await setHead(upstreamUrl);
    const auth = { authorization: `Bearer ${ownerKey}` };
    expect((await fetch(`${cloud.url}/v1/clusters/${leaseId}/release`, { method: 'POST', headers: auth })).status).toBe(200);
    const before = seen.length;
    const res = await fetch(`${cloud.url}/v1/clusters/${leaseId}/ray/api/jobs/`, { headers: auth });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect([res.status, body.error.code]).toEqual([410, 'CLUSTER_ENDED']);
    expect(body.error.message).toContain('idlegrid cloud deploy');
    expect(seen).toHaveLength(before);
  });
});
