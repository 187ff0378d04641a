import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestSolAirdrop } from '@idlegrid/chain';
import { toAddress } from '@idlegrid/domain';
import { generateKeypair, signAgentMessage, signBytes, type Keypair } from '@idlegrid/protocol';
import { loadCloudConfig } from '../config.ts';
import { startCloud, type RunningCloud } from '../server.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import { startReplicaBackends, type ReplicaBackends } from '../testing/replica-backends.ts';
import { TestAgent, until } from '../testing/test-agent.ts';

/**
 * Two control-plane replicas on one real PostgreSQL (LISTEN/NOTIFY and the advisory leader lock)
 * settling on one chain through the RPC backend (the LiteSVM JSON-RPC shim standing in for a
 * validator). Agents are hand-driven protocol clients; Ray's node list is the fake inspector's.
 * A buyer books on the follower a cluster whose devices are connected to different replicas, the
 * leader goes away, the follower takes over, and the lease runs on, is released and settles once.
 */
describe('control-plane replicas on PostgreSQL', () => {
  let shared: ReplicaBackends;
  const inspector = new FakeInspector();
  const deposed: string[] = [];
  let a: RunningCloud | undefined;
  let b: RunningCloud | undefined;

  const start = async (): Promise<RunningCloud> => {
    const dataDir = await mkdtemp(join(tmpdir(), 'idlegrid-replica-'));
    const config = loadCloudConfig({ IDLEGRID_VERIFY_CPU_N: '16' }, {
      port: 0, dataDir, databaseUrl: shared.databaseUrl, chain: shared.chainUrl, authority: shared.authorityFile, settleSeconds: 2, leaseTickSeconds: 0.5,
      heartbeatSeconds: 1, flushSeconds: 1, nodeLossSeconds: 6, logLevel: 'silent',
    });
    return startCloud(config, { logger: pino({ level: process.env['TEST_LOG'] ?? 'silent' }), inspector, onDeposed: (reason) => deposed.push(reason) });
  };

  beforeAll(async () => {
    shared = await startReplicaBackends();
  }, 60_000);

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await shared.stop();
  });

  const json = async (res: Response): Promise<Record<string, unknown>> => (await res.json()) as Record<string, unknown>;
  const get = async (cloud: RunningCloud, path: string, key?: string) =>
    json(await fetch(`${cloud.url}${path}`, key ? { headers: { authorization: `Bearer ${key}` } } : {}));
  const post = (cloud: RunningCloud, path: string, body: unknown, key?: string) =>
    fetch(`${cloud.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify(body) });

  /** An agent that heartbeats every 500 ms with its leases' GPU-seconds, and reports lease status on demand. */
  class Supplier {
    agent!: TestAgent;
    private timer: NodeJS.Timeout | undefined;
    readonly running = new Map<string, number>();
    constructor(readonly keypair: Keypair) {}

    async connect(cloud: RunningCloud): Promise<void> {
      this.stop();
      this.agent = await TestAgent.connect(cloud.url, this.keypair);
      expect((await this.agent.hello()).type).toBe('welcome');
      this.timer = setInterval(() => {
        const leases = [...this.running].map(([leaseId, since]) => ({ leaseId, gpuSeconds: (Date.now() - since) / 1000 }));
        const body = { ...this.agent.heartbeatBody(++this.agent.seq), leases };
        this.agent.sendRaw(JSON.stringify(signAgentMessage(this.keypair, body, this.agent.nonce)));
      }, 500);
      this.agent.heartbeat();
    }

    status(leaseId: string, state: string, extra: Record<string, unknown> = {}): void {
      const body = { type: 'lease-status', seq: ++this.agent.seq, leaseId, state, rayNodeId: null, endpoint: null, reason: null, ...extra };
      this.agent.sendRaw(JSON.stringify(signAgentMessage(this.keypair, body, this.agent.nonce)));
    }

    stop(): void {
      clearInterval(this.timer);
    }
  }

  it('serves one pool from both replicas, books across them, fails over, and settles once', async () => {
    a = await start();
    await until(async () => (await get(a!, '/healthz'))['replica'] !== undefined && ((await get(a!, '/healthz'))['replica'] as { leader: boolean }).leader, 10_000, 'A leads');
    b = await start();
    const replicas = await get(b, '/v1/replicas');
    expect(replicas['leader']).toBe(a.replicas?.id);
    expect((replicas['replicas'] as unknown[]).length).toBe(2);
    expect(((await get(b, '/healthz'))['replica'] as { leader: boolean }).leader).toBe(false);

    // One supplier on each replica; both see both (verified) in the supply.
    const x = new Supplier(generateKeypair());
    const y = new Supplier(generateKeypair());
    await x.connect(a);
    await y.connect(b);
    const supplySlots = async (cloud: RunningCloud) => ((await get(cloud, '/v1/supply?gpu=cpu'))['totals'] as { freeSlots: number }).freeSlots;
    await until(async () => (await supplySlots(a!)) === 2 && (await supplySlots(b!)) === 2, 15_000, 'both devices in both supplies');

    // A buyer funded on chain deposits through the follower and books there (forwarded to the leader).
    const buyer = generateKeypair();
    const challenge = await get(b, `/v1/auth/challenge?wallet=${buyer.address}`);
    const issued = await json(await post(b, '/v1/auth/keys', { wallet: buyer.address, nonce: challenge['nonce'], signature: signBytes(buyer, String(challenge['message'])) }));
    const key = String(issued['apiKey']);
    await requestSolAirdrop(shared.chainUrl, toAddress(buyer.address), 1_000_000_000n);
    await a.ledger.mintTo({ id: `seed-${buyer.address}`, memo: 'idlegrid:emit:test-seed', mints: [{ to: buyer.address, amount: 20_000_000n }], mint: 'IO' });
    const deposit = await post(b, '/v1/wallet/deposits', { transaction: await a.ledger.buildDepositTransaction(buyer, 'IO', 20_000_000n), token: 'IO' }, key);
    expect(deposit.status).toBe(201);
    const booked = await post(b, '/v1/clusters', { gpu: 'cpu', count: 2, hours: 1, topology: 'spread' }, key);
    expect(booked.status).toBe(201);
    const leaseId = String((await json(booked))['id']);

    // The leader assigns the head and then the worker, wherever their agents are connected.
    const hasAssign = (s: Supplier) => s.agent.frames.some((f) => f.type === 'assign');
    await until(() => hasAssign(x) || hasAssign(y), 15_000, 'an assign');
    const head = hasAssign(x) ? { s: x, other: y } : { s: y, other: x };
    expect((await head.s.agent.next('assign'))['role']).toBe('head');
    const dashboardUrl = 'http://head.invalid:8265';
    head.s.status(leaseId, 'starting');
    head.s.status(leaseId, 'joined', { rayNodeId: 'ray-head', endpoint: { nodeIp: '10.0.0.1', gcsAddress: '10.0.0.1:6379', dashboardUrl } });
    const worker = await head.other.agent.next('assign', 15_000);
    expect(worker['role']).toBe('worker');
    expect(worker['head']).toEqual({ gcsAddress: '10.0.0.1:6379', dashboardUrl });
    head.other.status(leaseId, 'starting');
    head.other.status(leaseId, 'joined', { rayNodeId: 'ray-worker', endpoint: { nodeIp: '10.0.0.2' } });
    inspector.clusters.set(dashboardUrl, [{ nodeId: 'ray-head', alive: true }, { nodeId: 'ray-worker', alive: true }]);
    const state = async (cloud: RunningCloud) => String((await get(cloud, `/v1/clusters/${leaseId}`, key))['state']);
    await until(async () => (await state(b!)) === 'ready', 15_000, 'the lease ready, seen on the follower');
    const readyAt = Date.now();
    x.running.set(leaseId, readyAt);
    y.running.set(leaseId, readyAt);
    await new Promise((r) => setTimeout(r, 4_000));

    // The leader goes away; the follower takes the lead, and the agent that was on A reconnects to B.
    const leaderGone = Date.now();
    x.stop();
    await a.close();
    await until(() => b!.replicas?.isLeader === true, 15_000, 'B leads');
    const failoverMs = Date.now() - leaderGone;
    expect(failoverMs).toBeLessThan(10_000);
    await x.connect(b);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await state(b)).toBe('ready');
    const events = (await get(b, `/v1/clusters/${leaseId}`, key))['nodes'] as Array<{ state: string }>;
    expect(events.map((n) => n.state)).toEqual(['joined', 'joined']);

    // Released on the new leader: both agents are told, the lease ends, the escrow settles, once.
    expect((await post(b, `/v1/clusters/${leaseId}/release`, {}, key)).status).toBe(200);
    await x.agent.next('release', 10_000);
    await y.agent.next('release', 10_000);
    const releasedAt = Date.now();
    x.status(leaseId, 'stopped');
    y.status(leaseId, 'stopped');
    await until(async () => (await state(b!)) === 'ended', 15_000, 'the lease ended');
    let audit: Record<string, unknown> = {};
    await until(async () => {
      audit = await get(b!, `/v1/clusters/${leaseId}/audit`, key);
      return audit['settled'] === true;
    }, 30_000, 'the lease settled');
    expect(audit['consistent']).toBe(true);
    // Each node was billed for the time it served, across the failover (heartbeats flushed by either replica).
    const served = (releasedAt - readyAt) / 1000;
    for (const d of audit['devices'] as Array<{ billedSeconds: number }>) {
      expect(d.billedSeconds).toBeGreaterThan(served - 6);
      expect(d.billedSeconds).toBeLessThanOrEqual(served + 2);
    }
    expect(deposed).toEqual([]);
    console.log(JSON.stringify({ replicas_failover: { failoverMs, headOn: head.s === x ? 'old leader' : 'follower', billedSeconds: (audit['devices'] as Array<{ billedSeconds: number }>).map((d) => d.billedSeconds), servedSeconds: served } }));
    x.stop();
    y.stop();
  }, 120_000);
});
