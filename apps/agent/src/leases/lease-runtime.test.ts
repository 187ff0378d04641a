// The lease runtime without Ray: a fake launcher records what would start and stop.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLeaseId, type LeaseId } from '@idlegrid/domain';
import type { HandledServerMessage, OutgoingAgentMessage } from '../handlers.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { clip, LeaseRuntime, type LeaseRuntimeOptions } from './lease-runtime.ts';
import type { LaunchedNode, NodeRequest } from './ray-launcher.ts';

type LeaseStatus = Extract<OutgoingAgentMessage, { type: 'lease-status' }>;
type Assign = HandledServerMessage<'assign'>;

const logger = pino({ level: 'silent' });
const TOKEN = 'token-0123456789abcdef';

function leaseId(id: string): LeaseId {
  if (!isLeaseId(id)) throw new Error(`not a lease id: ${id}`);
  return id;
}
const L1 = leaseId('lse_00000000000000000001');
const L2 = leaseId('lse_00000000000000000002');

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

interface FakeNode {
  request: NodeRequest;
  exit: (reason: string) => void;
  stopped: boolean;
}

/**
 * A launcher whose nodes start when their gate allows and exit when told. Gates are keyed
 * `<leaseId> <role>` and used once, so concurrent leases cannot take each other's gate.
 */
class FakeLauncher {
  readonly events: string[] = [];
  readonly nodes: FakeNode[] = [];
  readonly gates = new Map<string, Promise<void>>();
  failWith: Error | null = null;
  private launches = 0;

  launch = async (request: NodeRequest): Promise<LaunchedNode> => {
    const n = ++this.launches;
    this.events.push(`start ${request.leaseId} ${request.role} #${n}`);
    const key = `${request.leaseId} ${request.role}`;
    const gate = this.gates.get(key);
    this.gates.delete(key);
    await (gate ?? Promise.resolve());
    if (this.failWith) throw this.failWith;
    const exited = deferred<string>();
    const node: FakeNode = { request, exit: exited.resolve, stopped: false };
    this.nodes.push(node);
    this.events.push(`joined ${request.leaseId} ${request.role} #${n}`);
    return {
      rayNodeId: `node-${n}`,
      endpoint: request.role === 'head' ? { nodeIp: request.nodeIp, gcsAddress: `${request.nodeIp}:${request.ports.gcs}`, dashboardUrl: `http://${request.nodeIp}:${request.ports.dashboard}` } : { nodeIp: request.nodeIp },
      exited: exited.promise,
      stop: async () => {
        await Promise.resolve();
        node.stopped = true;
        this.events.push(`stop ${request.leaseId} ${request.role} #${n}`);
        exited.resolve('stopped');
      },
    };
  };
}

function assign(id: LeaseId, role: 'head' | 'worker', extra: Partial<Assign> = {}): Assign {
  return {
    type: 'assign', leaseId: id, role, head: role === 'worker' ? { gcsAddress: '10.0.0.1:20000', dashboardUrl: 'http://10.0.0.1:20001' } : null,
    rayToken: TOKEN, resources: { gpus: 0, cpus: 2 }, expiresAt: 0, ...extra,
  };
}

let dataDir = '';
let launcher: FakeLauncher;
let sent: LeaseStatus[];
let now: number;

async function runtime(options: Partial<LeaseRuntimeOptions> = {}): Promise<LeaseRuntime> {
  return LeaseRuntime.create({
    dataDir, portBase: 30_000, nodeIp: () => '10.0.0.2', gpuIndices: [0, 1, 2, 3], launcher: launcher.launch,
    send: (m) => {
      if (m.type === 'lease-status') sent.push(m);
      return true;
    },
    logger, now: () => now, portsFree: () => Promise.resolve(true), claimPortBlock: null, ...options,
  });
}

const statesOf = (id: LeaseId): string[] => sent.filter((s) => s.leaseId === id).map((s) => s.state);

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'igr-lr-'));
  launcher = new FakeLauncher();
  sent = [];
  now = 1_000_000;
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('LeaseRuntime: per-lease order', () => {
  it('runs assign → release → assign of one lease strictly in order while another lease goes ahead', async () => {
    const rt = await runtime();
    const slowHead = deferred<void>();
    launcher.gates.set(`${L1} head`, slowHead.promise);
    const ops = [
      rt.assign(assign(L1, 'head')),
      rt.release({ type: 'release', leaseId: L1, reason: 'the head was lost; re-forming the cluster' }),
      rt.assign(assign(L1, 'worker')),
    ];
    await rt.assign(assign(L2, 'head')); // not queued behind L1
    expect(statesOf(L2)).toEqual(['starting', 'joined']);
    expect(statesOf(L1)).toEqual(['starting']);
    slowHead.resolve();
    await Promise.all(ops);
    expect(statesOf(L1)).toEqual(['starting', 'joined', 'stopped', 'starting', 'joined']);
    // Launch numbers show order only within L1: L2's launch may come before or after L1's head.
    const l1Events = launcher.events.filter((e) => e.includes(L1));
    expect(l1Events.map((e) => e.replace(/ #\d+$/, ''))).toEqual([
      `start ${L1} head`, `joined ${L1} head`, `stop ${L1} head`, `start ${L1} worker`, `joined ${L1} worker`,
    ]);
    const workerLaunch = /#(\d+)$/.exec(l1Events[3] ?? '')?.[1];
    expect(rt.get(L1)).toMatchObject({ role: 'worker', state: 'joined', rayNodeId: `node-${workerLaunch ?? '?'}` });
    await rt.stop();
  });

  it('answers a repeated assign with the current status and replaces a node whose assignment changed', async () => {
    const rt = await runtime();
    await rt.assign(assign(L1, 'worker'));
    await rt.assign(assign(L1, 'worker'));
    expect(statesOf(L1)).toEqual(['starting', 'joined', 'joined']);
    expect(launcher.nodes).toHaveLength(1);
    await rt.assign(assign(L1, 'worker', { head: { gcsAddress: '10.0.0.9:20000', dashboardUrl: 'http://10.0.0.9:20001' } }));
    expect(launcher.events).toEqual([`start ${L1} worker #1`, `joined ${L1} worker #1`, `stop ${L1} worker #1`, `start ${L1} worker #2`, `joined ${L1} worker #2`]);
    expect(launcher.nodes[1]?.request.headGcsAddress).toBe('10.0.0.9:20000');
    expect(statesOf(L1)).toEqual(['starting', 'joined', 'joined', 'starting', 'joined']);
    await rt.stop();
  });

  it('reports the start, the join with the endpoint, and release as stopped (also with nothing running)', async () => {
    const rt = await runtime();
    await rt.assign(assign(L1, 'head'));
    expect(sent).toEqual([
      { type: 'lease-status', leaseId: L1, state: 'starting', rayNodeId: null, endpoint: null, reason: null },
      {
        type: 'lease-status', leaseId: L1, state: 'joined', rayNodeId: 'node-1',
        endpoint: { nodeIp: '10.0.0.2', gcsAddress: '10.0.0.2:30000', dashboardUrl: 'http://10.0.0.2:30001' }, reason: null,
      },
    ]);
    expect(launcher.nodes[0]?.request).toMatchObject({ role: 'head', cpus: 2, gpus: 0, token: TOKEN, leaseDir: path.join(dataDir, 'leases', L1) });
    await rt.release({ type: 'release', leaseId: L1, reason: 'cluster released' });
    await rt.release({ type: 'release', leaseId: L2, reason: 'did not join in time' });
    expect(sent.slice(2)).toEqual([
      { type: 'lease-status', leaseId: L1, state: 'stopped', rayNodeId: 'node-1', endpoint: null, reason: 'cluster released' },
      { type: 'lease-status', leaseId: L2, state: 'stopped', rayNodeId: null, endpoint: null, reason: 'did not join in time' },
    ]);
    expect(launcher.nodes[0]?.stopped).toBe(true);
    expect(rt.list()).toEqual([]);
  });
});

describe('LeaseRuntime: failures', () => {
  it('reports failed with the launcher error, a missing node IP or too few GPUs', async () => {
    launcher.failWith = new Error('Ray is not installed for idlegrid (missing /x/ray). Run `idlegrid worker setup`');
    const rt = await runtime();
    await rt.assign(assign(L1, 'head'));
    expect(sent.at(-1)).toMatchObject({ state: 'failed', reason: expect.stringContaining('idlegrid worker setup') as string });
    launcher.failWith = null;

    const noIp = await runtime({ nodeIp: () => null });
    await noIp.assign(assign(L2, 'head'));
    expect(sent.at(-1)).toMatchObject({ leaseId: L2, state: 'failed', reason: expect.stringContaining('IDLEGRID_NODE_IP') as string });

    await rt.assign(assign(L2, 'head', { resources: { gpus: 5, cpus: 20 } }));
    expect(sent.at(-1)).toMatchObject({ leaseId: L2, state: 'failed', reason: expect.stringContaining('needs 5 GPU(s)') as string });
    await rt.release({ type: 'release', leaseId: L2, reason: 'failed' });
    expect(sent.at(-1)).toMatchObject({ leaseId: L2, state: 'stopped' });
  });

  it('reports failed when the node exits by itself, and stops counting GPU-seconds', async () => {
    const rt = await runtime();
    await rt.assign(assign(L1, 'worker', { resources: { gpus: 2, cpus: 8 } }));
    now += 10_000;
    expect(rt.usage()).toEqual([{ leaseId: L1, gpuSeconds: 20 }]);
    launcher.nodes[0]?.exit('the Ray worker exited by itself (exit code 1): raylet died');
    await rt.idle();
    expect(sent.at(-1)).toMatchObject({ state: 'failed', reason: 'the Ray worker exited by itself (exit code 1): raylet died' });
    expect(rt.usage()).toEqual([]);
    expect(launcher.nodes[0]?.stopped).toBe(true); // whatever was left of it
  });

  it('keeps long reasons within the protocol limit, with their beginning and end', () => {
    const long = `ray start failed: ${'x'.repeat(3000)} Exception: timed out`;
    const clipped = clip(long);
    expect(clipped).toHaveLength(1000);
    expect(clipped.startsWith('ray start failed')).toBe(true);
    expect(clipped.endsWith('Exception: timed out')).toBe(true);
  });
});

describe('LeaseRuntime: resources and usage', () => {
  it('gives concurrent leases distinct port blocks and GPUs, and reuses them after release', async () => {
    const rt = await runtime();
    await rt.assign(assign(L1, 'worker', { resources: { gpus: 2, cpus: 8 } }));
    await rt.assign(assign(L2, 'worker', { resources: { gpus: 1, cpus: 4 } }));
    expect(launcher.nodes.map((n) => [n.request.ports.base, n.request.gpuIndices])).toEqual([[30_000, [0, 1]], [30_200, [2]]]);
    await rt.release({ type: 'release', leaseId: L1, reason: 'done' });
    await rt.assign(assign(leaseId('lse_00000000000000000003'), 'head', { resources: { gpus: 3, cpus: 4 } }));
    expect(launcher.nodes[2]?.request).toMatchObject({ gpuIndices: [0, 1, 3] });
    expect(launcher.nodes[2]?.request.ports.base).toBe(30_000);
    await rt.stop();
  });

  it('gives leases that start at the same moment distinct port blocks even while the host check is slow', async () => {
    let checks = 0;
    const rt = await runtime({
      portsFree: async () => {
        checks++;
        await new Promise((r) => setTimeout(r, 5));
        return true;
      },
    });
    const L3 = leaseId('lse_00000000000000000003');
    await Promise.all([rt.assign(assign(L1, 'worker')), rt.assign(assign(L2, 'worker')), rt.assign(assign(L3, 'worker'))]);
    expect(new Set(launcher.nodes.map((n) => n.request.ports.base))).toEqual(new Set([30_000, 30_200, 30_400]));
    expect(checks).toBe(3);
    await rt.stop();
  });

  it('counts cumulative slot-seconds per lease: GPUs, or CPUs for the cpu class, across re-assignments', async () => {
    const rt = await runtime();
    await rt.assign(assign(L1, 'head', { resources: { gpus: 0, cpus: 3 } }));
    now += 2_000;
    expect(rt.usage()).toEqual([{ leaseId: L1, gpuSeconds: 6 }]);
    await rt.assign(assign(L1, 'worker', { resources: { gpus: 0, cpus: 3 } })); // re-formed: now a worker
    now += 1_500;
    expect(rt.usage()).toEqual([{ leaseId: L1, gpuSeconds: 10.5 }]);
    await rt.release({ type: 'release', leaseId: L1, reason: 'done' });
    expect(rt.usage()).toEqual([]);
  });

  it('re-sends every status on announce() and stops everything on stop()', async () => {
    const rt = await runtime();
    await rt.assign(assign(L1, 'head'));
    await rt.assign(assign(L2, 'worker'));
    sent = [];
    rt.announce();
    expect(sent.map((s) => [s.leaseId, s.state])).toEqual([[L1, 'joined'], [L2, 'joined']]);
    sent = [];
    await rt.stop();
    expect(launcher.nodes.every((n) => n.stopped)).toBe(true);
    // Leases stop concurrently, so their reports may come in either order.
    const reports = sent.map((s) => [s.leaseId, s.state, s.reason]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(reports).toEqual([[L1, 'stopped', 'the agent is stopping'], [L2, 'stopped', 'the agent is stopping']]);
    await rt.assign(assign(leaseId('lse_00000000000000000003'), 'head'));
    expect(launcher.nodes).toHaveLength(2); // closed: nothing starts any more
  });

  it('stops a node that finished starting after stop() was called', async () => {
    const rt = await runtime();
    const gate = deferred<void>();
    launcher.gates.set(`${L1} head`, gate.promise);
    const pending = rt.assign(assign(L1, 'head'));
    await Promise.resolve();
    const stopping = rt.stop();
    gate.resolve();
    await Promise.all([pending, stopping]);
    expect(launcher.nodes[0]?.stopped).toBe(true);
    expect(rt.list()).toEqual([]);
  });
});

describe('KeyedQueue', () => {
  it('serializes per key, runs keys concurrently and survives a failing task', async () => {
    const q = new KeyedQueue<string>();
    const order: string[] = [];
    const gate = deferred<void>();
    const a1 = q.run('a', async () => {
      await gate.promise;
      order.push('a1');
    });
    const a2 = q.run('a', () => Promise.reject(new Error('a2 failed')));
    const a3 = q.run('a', () => {
      order.push('a3');
      return Promise.resolve(3);
    });
    await q.run('b', () => {
      order.push('b1');
      return Promise.resolve();
    });
    expect(q.busyKeys).toContain('a');
    gate.resolve();
    await a1;
    await expect(a2).rejects.toThrow('a2 failed');
    expect(await a3).toBe(3);
    expect(order).toEqual(['b1', 'a1', 'a3']);
    await q.idle();
    expect(q.busyKeys).toEqual([]);
  });
});
