import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeaseId } from '@idlegrid/domain';
import type { ClusterView } from '@idlegrid/protocol';
import { openStore } from '@idlegrid/store';
import { resolveRayVenv } from '@idlegrid/ray';
import { buyerApiKey, nodeIpsIn, SPREAD_JOB, startClusterNetwork, waitForDevices, type ClusterNetwork } from './support/cluster-network.ts';

/**
 * Issue 4's scenario with real processes everywhere: four hosts as network namespaces,
 * one agent each, real Ray 2.60 from the agents' venv, the control plane in the root
 * namespace, and the stock `ray job submit` going through the authenticated proxy.
 */
let n: ClusterNetwork;
let cluster: ClusterView;
let apiKey: string;

beforeAll(async () => {
  n = await startClusterNetwork({ hosts: 4 });
  // Hosts 0–2 are cheapest, so a `spread` booking takes them; host 3 is the spare.
  const prices = ['0.10', '0.11', '0.12', '0.30'];
  for (const [i, host] of n.net.hosts.entries()) await n.startAgent(host, prices[i] ?? '0.5');
  await waitForDevices(n, 4);
}, 600_000);

afterAll(async () => {
  await n.destroy();
}, 60_000);

/** Runs the stock Ray CLI from the venv against the proxy. */
function rayJobSubmit(address: string, key: string, entrypoint: string[], noWait = false): Promise<{ code: number | null; out: string }> {
  const venv = resolveRayVenv(process.env);
  const args = ['job', 'submit', '--address', address, '--headers', JSON.stringify({ Authorization: `Bearer ${key}` }), ...(noWait ? ['--no-wait'] : []), '--', ...entrypoint];
  return new Promise((resolve) => {
    const child = spawn(venv.ray, args, { env: { PATH: process.env['PATH'] ?? '', HOME: n.root, RAY_USAGE_STATS_ENABLED: '0' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const activeNodes = (c: ClusterView) => c.nodes.filter((x) => ['assigned', 'starting', 'joined'].includes(x.state));

describe('a Ray cluster from three suppliers (network namespaces, real Ray)', () => {
  it('deploys a 3-node cluster that becomes ready only when Ray sees all nodes', async () => {
    await n.fundBuyer();
    const started = Date.now();
    cluster = await n.cliJson<ClusterView>(['cloud', 'deploy', '--gpu', 'cpu', '--count', '3', '--hours', '1', '--topology', 'spread', '--wait', '--timeout', '240']);
    expect(cluster.state).toBe('ready');
    expect(activeNodes(cluster)).toHaveLength(3);
    const hostIps = new Set(n.net.hosts.slice(0, 3).map((h) => h.ip));
    expect(new Set(activeNodes(cluster).map((x) => x.nodeIp))).toEqual(hostIps);
    apiKey = await buyerApiKey(n);
    console.log(`deploy-to-ready ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 300_000);

  it('runs a job submitted with the stock `ray job submit` through the proxy on all 3 nodes', async () => {
    const res = await rayJobSubmit(cluster.endpoints.ray, apiKey, ['python', '-c', SPREAD_JOB]);
    expect(res.out).toMatch(/Job '\S+' succeeded/);
    expect(res.code).toBe(0);
    expect(new Set(nodeIpsIn(res.out)).size).toBe(3);
  }, 180_000);

  it('runs jobs with `idlegrid cloud jobs submit` and lists them', async () => {
    const submitted = await n.cliJson<{ submissionId: string; status: string; logs: string }>(['cloud', 'jobs', 'submit', cluster.id, '--', 'python', '-c', 'print("hello from idlegrid")']);
    expect(submitted.status).toBe('SUCCEEDED');
    expect(submitted.logs).toContain('hello from idlegrid');
    const listed = await n.cliJson<{ jobs: Array<{ submission_id: string; status: string }> }>(['cloud', 'jobs', 'list', cluster.id]);
    expect(listed.jobs.find((j) => j.submission_id === submitted.submissionId)?.status).toBe('SUCCEEDED');
    const logs = await n.cliJson<{ logs: string }>(['cloud', 'jobs', 'logs', cluster.id, submitted.submissionId]);
    expect(logs.logs).toContain('hello from idlegrid');
  }, 120_000);

  it('serves a Ray Serve deployment through the authenticated /serve proxy', async () => {
    const app = [
      'from ray import serve',
      '@serve.deployment(ray_actor_options={"num_cpus": 0})',
      'class Hello:',
      '    def __call__(self, request):',
      '        return "hello from serve"',
      'serve.start(proxy_location="HeadOnly")',
      'serve.run(Hello.bind(), route_prefix="/")',
    ].join('\n');
    const res = await rayJobSubmit(cluster.endpoints.ray, apiKey, ['python', '-c', app]);
    expect(res.out).toMatch(/Job '\S+' succeeded/);
    expect((await fetch(`${cluster.endpoints.serve}/`)).status).toBe(401);
    let body = '';
    for (let i = 0; i < 30 && body !== 'hello from serve'; i++) {
      const r = await fetch(`${cluster.endpoints.serve}/`, { headers: { authorization: `Bearer ${apiKey}` } });
      body = await r.text();
      if (body !== 'hello from serve') await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(body).toBe('hello from serve');
  }, 180_000);

  it('keeps Ray closed: the head answers 401/403 without the token; the proxy 401 without a key', async () => {
    const head = activeNodes(cluster).find((x) => x.role === 'head');
    const dashboard = `http://${head?.nodeIp ?? ''}`;
    const status = await fetch(`${cluster.endpoints.ray.replace(/\/v1\/clusters\/.*$/, '')}/v1/clusters/${cluster.id}/ray/api/version`).then((r) => r.status);
    expect(status).toBe(401);
    const viaProxy = await fetch(`${cluster.endpoints.ray}/api/version`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(viaProxy.status).toBe(200);
    const nodes = await fetch(`${cluster.endpoints.ray}/api/v0/nodes?limit=10`, { headers: { authorization: `Bearer ${apiKey}` } }).then((r) => r.json() as Promise<{ data: { result: { result: Array<{ node_ip: string; is_head_node: boolean }> } } }>);
    expect(nodes.data.result.result.filter((x) => x.is_head_node)[0]?.node_ip).toBe(head?.nodeIp);
    const dashboardUrl = await headDashboardUrl(cluster.id);
    expect(dashboardUrl.startsWith(dashboard)).toBe(true);
    const raw = await fetch(`${dashboardUrl}/api/version`);
    expect([401, 403]).toContain(raw.status);
    const wrong = await fetch(`${dashboardUrl}/api/version`, { headers: { 'x-ray-authorization': 'Bearer not-the-token' } });
    expect([401, 403]).toContain(wrong.status);
  }, 60_000);

  it("refuses a job that tries to read the supplier's keypair", async () => {
    const headHost = n.net.hosts.find((h) => h.ip === activeNodes(cluster).find((x) => x.role === 'head')?.nodeIp);
    const keyPath = join(n.agentDataDir(headHost ?? n.net.hosts[0]!), 'device-key.json');
    expect(existsSync(keyPath)).toBe(true);
    const res = await rayJobSubmit(cluster.endpoints.ray, apiKey, ['python', '-c', `print(open(${JSON.stringify(keyPath)}).read())`]);
    expect(res.out).toMatch(/Job '\S+' failed/);
    expect(res.out).toMatch(/PermissionError|FileNotFoundError|Permission denied/);
  }, 120_000);

  it('replaces a killed worker host within 30 s, stops its billing at its last heartbeat, and spans 3 nodes again', async () => {
    await rayJobSubmit(cluster.endpoints.ray, apiKey, ['python', '-c', 'import time; time.sleep(120)'], true);
    const worker = activeNodes(cluster).find((x) => x.role === 'worker');
    const victim = n.net.hosts.find((h) => h.ip === worker?.nodeIp);
    if (!victim || !worker) throw new Error('no worker host');
    const killedAt = Date.now();
    await victim.killAll('SIGKILL');
    const degraded = await n.waitForCluster(cluster.id, (c) => c.state === 'degraded' || activeNodes(c).some((x) => x.nodeIp === n.net.hosts[3]?.ip), 30_000);
    expect(['degraded', 'ready']).toContain(degraded.state);
    const healed = await n.waitForCluster(cluster.id, (c) => c.state === 'ready' && activeNodes(c).some((x) => x.nodeIp === n.net.hosts[3]?.ip), 60_000);
    const replacementSeconds = (Date.now() - killedAt) / 1000;
    console.log(`replacement ${replacementSeconds.toFixed(1)} s`);
    expect(replacementSeconds).toBeLessThan(30 + 5);
    const lost = healed.nodes.find((x) => x.deviceId === worker.deviceId && x.state === 'lost');
    expect(lost?.endedAt).toBeDefined();
    // Billing ends at the last heartbeat before the kill (heartbeats every 5 s), not later.
    expect(lost?.endedAt ?? 0).toBeLessThanOrEqual(killedAt + 1000);
    expect(lost?.endedAt ?? 0).toBeGreaterThanOrEqual(killedAt - 6000);
    cluster = healed;
    const kinds = await eventKinds(cluster.id);
    expect(kinds).toEqual(expect.arrayContaining(['node.lost', 'lease.degraded', 'lease.replacement', 'lease.ready']));
    expect(kinds.lastIndexOf('lease.ready')).toBeGreaterThan(kinds.indexOf('lease.degraded'));
    const res = await rayJobSubmit(cluster.endpoints.ray, apiKey, ['python', '-c', SPREAD_JOB]);
    expect(res.out).toMatch(/Job '\S+' succeeded/);
    expect(new Set(nodeIpsIn(res.out))).toEqual(new Set(activeNodes(healed).map((x) => x.nodeIp)));
  }, 240_000);

  it('re-forms the cluster on a new head when the head host dies, and says so', async () => {
    // Bring the worker host killed above back as a spare (same device key, fresh agent).
    const spare = n.net.hosts.find((h) => !activeNodes(cluster).some((x) => x.nodeIp === h.ip));
    if (!spare) throw new Error('no spare host');
    await n.startAgent(spare, '0.13');
    await waitForDevices(n, 4);
    const head = activeNodes(cluster).find((x) => x.role === 'head');
    const headHost = n.net.hosts.find((h) => h.ip === head?.nodeIp);
    if (!head || !headHost) throw new Error('no head host');
    await headHost.killAll('SIGKILL');
    const reformed = await n.waitForCluster(cluster.id, (c) => c.state === 'ready' && activeNodes(c).every((x) => x.nodeIp !== headHost.ip) && activeNodes(c).length === 3, 120_000);
    const newHead = activeNodes(reformed).find((x) => x.role === 'head');
    expect(newHead?.nodeIp).not.toBe(headHost.ip);
    expect(reformed.notices.some((x) => /head was lost; the cluster is re-formed/.test(x.text))).toBe(true);
    expect(await eventKinds(cluster.id)).toContain('lease.reformed');
    cluster = reformed;
    const res = await rayJobSubmit(cluster.endpoints.ray, apiKey, ['python', '-c', SPREAD_JOB]);
    expect(res.out).toMatch(/Job '\S+' succeeded/);
    expect(new Set(nodeIpsIn(res.out))).toEqual(new Set(activeNodes(reformed).map((x) => x.nodeIp)));
  }, 240_000);

  it('releases: the lease ends and no Ray process of it is left on any host', async () => {
    const released = await n.cliJson<ClusterView>(['cloud', 'release', cluster.id, '--wait']);
    expect(released.state).toBe('ended');
    for (const host of n.net.hosts) {
      const ps = await host.run('sh', ['-c', `for p in $(ip netns pids ${host.name} 2>/dev/null); do cat /proc/$p/cmdline 2>/dev/null | tr '\\0' ' '; echo; done`]);
      expect(ps.stdout).not.toMatch(new RegExp(cluster.id));
      expect(ps.stdout).not.toMatch(/raylet|gcs_server/);
    }
  }, 120_000);
});

/** The lease's event log, oldest first, from the control plane's store. */
async function eventKinds(leaseId: string): Promise<string[]> {
  const store = await openStore({ kind: 'sqlite', path: join(n.root, 'cloud', 'idlegrid.sqlite') });
  try {
    return (await store.events.list({ subject: leaseId, limit: 1000 })).map((e) => e.kind);
  } finally {
    await store.close();
  }
}

/** The head's dashboard URL as the control plane recorded it (buyers never see it). */
async function headDashboardUrl(leaseId: string): Promise<string> {
  const store = await openStore({ kind: 'sqlite', path: join(n.root, 'cloud', 'idlegrid.sqlite') });
  try {
    const nodes = await store.leases.nodes(leaseId as LeaseId);
    const head = nodes.find((x) => x.role === 'head' && x.state === 'joined');
    const url = (head?.endpoint as { dashboardUrl?: string } | null)?.dashboardUrl;
    if (!url) throw new Error('no head dashboard recorded');
    return url;
  } finally {
    await store.close();
  }
}
