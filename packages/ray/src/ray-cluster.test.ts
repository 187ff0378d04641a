// Real Ray, no mocks: one head + 2 workers on this host share this file's scenarios.
// Needs the Ray venv; beforeAll runs scripts/setup-ray.sh (a no-op when it is current,
// a few minutes the first time).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobsClient, type RayJobsClient } from './jobs-client.ts';
import { pythonEntrypoint } from './entrypoint.ts';
import { rayRequest } from './http-client.ts';
import { startLocalCluster, type LocalCluster } from './local-cluster.ts';
import { listAliveNodes, listNodes, waitForNodeDead } from './nodes-api.ts';
import { blocksOverlap, firstFreePortBase, PORT_BLOCK_SIZE } from './ports.ts';
import { ProcessFamily } from './process-family.ts';
import type { RayNodeHandle } from './ray-node.ts';
import { RAY_TEMP_DIR_MAX_BYTES } from './temp-dir.ts';
import { ensureRayVenv } from './venv.ts';

const SPREAD_JOB = `
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
ray.init()

@ray.remote(num_cpus=1)
def where(seconds):
    import time
    time.sleep(seconds)
    return ray.get_runtime_context().get_node_id()

alive = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
pinned = [where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=n, soft=False)).remote(0) for n in alive]
print("IDLEGRID_NODES", ",".join(sorted(set(ray.get(pinned)))))
# One CPU per node and tasks that hold theirs for a while: SPREAD must use every node.
spread = [where.options(scheduling_strategy="SPREAD").remote(2) for _ in alive]
print("IDLEGRID_SPREAD", ",".join(sorted(set(ray.get(spread)))))
`;

/** Every process from `ps` (independent of the /proc parsing under test). */
function psTable(): Array<{ pid: number; pgid: number; sid: number; stat: string; args: string }> {
  return execFileSync('ps', ['-eo', 'pid=,pgid=,sid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), pgid: Number(m[2]), sid: Number(m[3]), stat: m[4] ?? '', args: m[5] ?? '' }));
}

/** Processes in the node's process group or session, as `pid stat command` (zombies included). */
function processesOf(h: RayNodeHandle): string[] {
  return psTable()
    .filter((p) => p.pgid === h.pgid || p.sid === h.pid)
    .map((p) => `${p.pid} ${p.stat} ${p.args.slice(0, 80)}`);
}

/** Bases for 3 blocks in 26000–29600: below the kernel's ephemeral ports, apart from the agent test's range; the pid picks where to start. */
const BASES = Array.from({ length: 6 }, (_, k) => 26_000 + ((process.pid + k) % 6) * 3 * PORT_BLOCK_SIZE);
let leaseDir = '';
let cluster: LocalCluster | undefined;
let jobs: RayJobsClient;

function started(): LocalCluster {
  if (!cluster) throw new Error('cluster did not start');
  return cluster;
}

beforeAll(async () => {
  const venv = await ensureRayVenv(process.env, { onOutput: (s) => process.stderr.write(s) });
  leaseDir = await mkdtemp('/tmp/igr-t-');
  const basePort = await firstFreePortBase(BASES, 3);
  cluster = await startLocalCluster({ venv, leaseDir, basePort, workers: 2, objectStoreMemoryBytes: 100 * 1024 * 1024 });
  jobs = createJobsClient({ url: cluster.dashboardUrl, token: cluster.token });
  console.log(`[ray] head + 2 workers alive after ${cluster.timings.allAliveS.toFixed(1)} s`, cluster.timings);
}, 600_000);

afterAll(async () => {
  await cluster?.stop();
  if (leaseDir !== '') await rm(leaseDir, { recursive: true, force: true });
}, 120_000);

describe('a real Ray cluster: head + 2 workers on one host', () => {
  it('(a) has three alive nodes with distinct port blocks and temp dirs', async () => {
    const c = started();
    const nodes = [c.head, ...c.workers];
    const alive = await listAliveNodes(c.dashboardUrl, c.token);
    expect(alive).toHaveLength(3);
    expect(alive.filter((n) => n.isHead)).toHaveLength(1);
    expect(new Set(alive.map((n) => n.nodeId))).toEqual(new Set(nodes.map((n) => n.nodeId)));
    expect(alive.find((n) => n.isHead)?.nodeId).toBe(c.head.nodeId);
    for (const n of alive) expect(n.resources.CPU).toBe(1);
    expect(new Set(nodes.map((n) => n.tempDir)).size).toBe(3);
    for (const n of nodes) expect(Buffer.byteLength(n.tempDir)).toBeLessThanOrEqual(RAY_TEMP_DIR_MAX_BYTES);
    for (const [i, a] of nodes.entries()) for (const b of nodes.slice(i + 1)) expect(blocksOverlap(a.ports, b.ports)).toBe(false);
    expect(c.head.gcsAddress).toBe(`${c.head.nodeIp}:${c.head.ports.gcs}`);
    for (const w of c.workers) expect(w.gcsAddress).toBe(c.head.gcsAddress);
  });

  it('(b) runs a job on all three nodes; status, list and logs come back', async () => {
    const c = started();
    const submitted = await jobs.submitJob({ entrypoint: pythonEntrypoint(SPREAD_JOB), submissionId: 'spread-1', metadata: { lease: 'test' } });
    expect(submitted.submission_id).toBe('spread-1');
    let tailed = '';
    for await (const chunk of jobs.tailJobLogs('spread-1', { pollMs: 500 })) tailed += chunk;
    const job = await jobs.waitForJob('spread-1', ['SUCCEEDED', 'FAILED', 'STOPPED'], 90_000);
    const logs = await jobs.getJobLogs('spread-1');
    expect(job.status, `${job.message ?? ''}\n${logs}`).toBe('SUCCEEDED');
    expect(job.metadata).toEqual({ lease: 'test' });
    const ids = new Set([c.head, ...c.workers].map((n) => n.nodeId));
    const pinned = /IDLEGRID_NODES (\S+)/.exec(logs)?.[1]?.split(',') ?? [];
    const spread = /IDLEGRID_SPREAD (\S+)/.exec(logs)?.[1]?.split(',') ?? [];
    expect(new Set(pinned)).toEqual(ids);
    expect(new Set(spread)).toEqual(ids);
    expect(tailed).toContain('IDLEGRID_SPREAD');
    expect((await jobs.listJobs()).map((j) => j.submission_id)).toContain('spread-1');
    await expect(jobs.getJob('no-such-job')).rejects.toMatchObject({ code: 'RAY_JOB_NOT_FOUND' });
  }, 120_000);

  it('(b) stops a running job', async () => {
    await jobs.submitJob({ entrypoint: pythonEntrypoint('import time\nprint("sleeping", flush=True)\ntime.sleep(120)'), submissionId: 'sleeper-1' });
    const running = await jobs.waitForJob('sleeper-1', ['RUNNING'], 60_000);
    expect(running.status).toBe('RUNNING');
    expect(await jobs.stopJob('sleeper-1')).toBe(true);
    expect((await jobs.waitForJob('sleeper-1', undefined, 60_000)).status).toBe('STOPPED');
    expect(await jobs.deleteJob('sleeper-1')).toBe(true);
  }, 120_000);

  it('(c) refuses the dashboard and Jobs API without the token', async () => {
    const c = started();
    const get = (token?: string, authHeader?: 'authorization' | 'x-ray-authorization'): Promise<number> =>
      rayRequest({ url: c.dashboardUrl, token, authHeader }, { method: 'GET', path: '/api/version' }).then((r) => r.status);
    expect(await get()).toBe(401);
    expect(await get('wrong-token-wrong-token')).toBe(403);
    expect(await get(c.token)).toBe(200);
    expect(await get(c.token, 'authorization')).toBe(200);
    const noJobs = await rayRequest({ url: c.dashboardUrl }, { method: 'POST', path: '/api/jobs/', body: { entrypoint: 'echo hi' } });
    expect(noJobs.status).toBe(401);
    await expect(createJobsClient({ url: c.dashboardUrl, token: 'wrong-token-wrong-token' }).listJobs()).rejects.toMatchObject({ code: 'RAY_UNAUTHORIZED' });
    await expect(listNodes(c.dashboardUrl)).rejects.toMatchObject({ code: 'RAY_UNAUTHORIZED' });
  });

  it('(d) a stopped worker is reported dead at once and leaves no process', async () => {
    const c = started();
    const w1 = c.workers[0];
    if (!w1?.nodeId) throw new Error('worker 1 has no node id');
    expect(processesOf(w1).length).toBeGreaterThan(0);
    const t = performance.now();
    await w1.stop();
    const dead = await waitForNodeDead(c.dashboardUrl, c.token, w1.nodeId, 10_000);
    console.log(`[ray] stopped worker: dead after ${((performance.now() - t) / 1000).toFixed(1)} s (${dead.stateMessage ?? ''})`);
    expect(dead.state).toBe('DEAD');
    expect(processesOf(w1)).toEqual([]);
    expect(await w1.exited).not.toBeUndefined();
  }, 30_000);

  it('(d) a SIGKILLed worker is detected dead within 10 s (tuned health checks)', async () => {
    const c = started();
    const w2 = c.workers[1];
    if (!w2?.nodeId) throw new Error('worker 2 has no node id');
    const t = performance.now();
    await new ProcessFamily(w2.pid).signal('SIGKILL');
    await waitForNodeDead(c.dashboardUrl, c.token, w2.nodeId, 10_000, { pollMs: 200 });
    console.log(`[ray] SIGKILLed worker: dead after ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await w2.stop();
    expect(processesOf(w2)).toEqual([]);
    expect((await listAliveNodes(c.dashboardUrl, c.token)).map((n) => n.nodeId)).toEqual([c.head.nodeId]);
  }, 30_000);

  it('(e) stopping everything leaves no Ray process of ours', async () => {
    const c = started();
    await c.stop();
    for (const h of [c.head, ...c.workers]) expect(processesOf(h)).toEqual([]);
    expect(psTable().filter((p) => p.args.includes(leaseDir))).toEqual([]);
    const unreachable = await rayRequest({ url: c.dashboardUrl, token: c.token, timeoutMs: 2_000 }, { method: 'GET', path: '/api/version' }).then(
      () => 'answered',
      (e: unknown) => (e instanceof Error && 'code' in e ? String(e.code) : 'error'),
    );
    expect(unreachable).toBe('RAY_UNREACHABLE');
  }, 60_000);
});
