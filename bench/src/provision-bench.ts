/**
 * `npm run bench:provision -- --json`: on four network-namespace hosts, measures
 *  - bare_ray_start_s: `ray start` of a head and two workers (by hand, as a Ray user would)
 *    until Ray's own API shows 3 alive nodes;
 *  - deploy_to_ready_s: `idlegrid cloud deploy --count 3 --wait` on the same hosts;
 *  - replacement_s: SIGKILL of one worker host until the cluster is ready again on the spare.
 * Prints one JSON object (with --json) or a short summary.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { listAliveNodes, portBlock, resolveRayVenv } from '@idlegrid/ray';
import type { ClusterView } from '@idlegrid/protocol';
import { startClusterNetwork, waitForDevices, type ClusterNetwork } from '../../tests/e2e/support/cluster-network.ts';
import type { Host } from '../../tests/e2e/netns/hosts.ts';

const json = process.argv.includes('--json');
const log = (msg: string) => {
  if (!json) process.stderr.write(`${msg}\n`);
};

async function bareRayStart(n: ClusterNetwork): Promise<number> {
  const venv = resolveRayVenv(process.env);
  const token = randomBytes(24).toString('base64url');
  const env = { PATH: `${venv.binDir}:${process.env['PATH'] ?? ''}`, HOME: n.root, RAY_AUTH_MODE: 'token', RAY_AUTH_TOKEN: token, RAY_USAGE_STATS_ENABLED: '0' };
  const ports = portBlock(30_000);
  const startNode = async (host: Host, head: boolean): Promise<void> => {
    const temp = `/tmp/igb-${host.index}`;
    await mkdir(temp, { recursive: true });
    const args = [
      'start', ...(head ? ['--head', '--port', String(ports.gcs), '--dashboard-host', host.ip, '--dashboard-port', String(ports.dashboard)] : ['--address', `${n.net.hosts[0]?.ip}:${ports.gcs}`]),
      '--node-ip-address', host.ip, '--num-cpus', '1', '--temp-dir', temp, '--disable-usage-stats',
    ];
    const res = await host.run(venv.ray, args, { env, timeoutMs: 180_000 });
    if (res.code !== 0) throw new Error(`ray start failed on ${host.name}: ${res.stderr}`);
  };
  const [h0, h1, h2] = n.net.hosts;
  if (!h0 || !h1 || !h2) throw new Error('need 3 hosts');
  const started = Date.now();
  await startNode(h0, true);
  await Promise.all([startNode(h1, false), startNode(h2, false)]);
  const dashboard = `http://${h0.ip}:${ports.dashboard}`;
  for (;;) {
    const alive = await listAliveNodes(dashboard, token).catch(() => []);
    if (alive.length >= 3) break;
    if (Date.now() - started > 180_000) throw new Error('bare Ray did not reach 3 nodes');
    await new Promise((r) => setTimeout(r, 200));
  }
  const seconds = (Date.now() - started) / 1000;
  for (const h of [h0, h1, h2]) await h.killAll('SIGKILL');
  return seconds;
}

async function main(): Promise<void> {
  const n = await startClusterNetwork({ hosts: 4 });
  try {
    log('bare ray start (head + 2 workers)…');
    const bare = await bareRayStart(n);
    const prices = ['0.10', '0.11', '0.12', '0.30'];
    for (const [i, host] of n.net.hosts.entries()) await n.startAgent(host, prices[i] ?? '0.5');
    await waitForDevices(n, 4);
    log('idlegrid deploy --count 3 --wait…');
    const t0 = Date.now();
    await n.fundBuyer();
    const cluster = await n.cliJson<ClusterView>(['cloud', 'deploy', '--gpu', 'cpu', '--count', '3', '--hours', '1', '--topology', 'spread', '--wait', '--timeout', '300']);
    const deploy = (Date.now() - t0) / 1000;
    const worker = cluster.nodes.find((x) => x.role === 'worker' && x.state === 'joined');
    const victim = n.net.hosts.find((h) => h.ip === worker?.nodeIp);
    if (!victim) throw new Error('no worker to kill');
    log('killing one worker host…');
    const t1 = Date.now();
    await victim.killAll('SIGKILL');
    const spareIp = n.net.hosts[3]?.ip;
    await n.waitForCluster(cluster.id, (c) => c.state === 'ready' && c.nodes.some((x) => x.state === 'joined' && x.nodeIp === spareIp), 120_000);
    const replacement = (Date.now() - t1) / 1000;
    await n.cliJson(['cloud', 'release', cluster.id, '--wait']);
    const result = {
      bare_ray_start_s: round(bare),
      deploy_to_ready_s: round(deploy),
      deploy_over_bare: round(deploy / bare),
      replacement_s: round(replacement),
      goals: { deploy_over_bare_max: 1.5, replacement_s_max: 30 },
      hosts: 4,
      nodes: 3,
      node_cpus: 1,
      machine: '2 cores, network namespaces on one bridge',
    };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(`${Object.entries(result).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n')}\n`);
  } finally {
    await n.destroy();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

await main();
