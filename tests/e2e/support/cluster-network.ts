import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterView, SupplyResponse } from '@idlegrid/protocol';
import { ensureRayVenv, resolveRayVenv } from '@idlegrid/ray';
import { CLI, runCli, startCli, type CliResult } from '../cli-process.ts';
import { createHosts, killGroup, type Host, type HostNetwork } from '../netns/hosts.ts';

/**
 * A real multi-host idlegrid network for end-to-end tests and benchmarks: the control
 * plane (`idlegrid cloud serve`) in the root namespace, one agent (`idlegrid worker
 * start`) per network namespace, real Ray in the agents' venv. Nothing is mocked.
 */
export interface ClusterNetwork {
  readonly net: HostNetwork;
  readonly cloudUrl: string;
  readonly root: string;
  /** Environment of the buyer's CLI (its own IDLEGRID_HOME, so its own wallet and API key). */
  readonly buyerEnv: NodeJS.ProcessEnv;
  readonly agents: Map<string, ChildProcess>;
  cli(args: string[], env?: NodeJS.ProcessEnv, timeoutMs?: number): Promise<CliResult>;
  cliJson<T>(args: string[], env?: NodeJS.ProcessEnv, timeoutMs?: number): Promise<T>;
  startAgent(host: Host, price: string): Promise<void>;
  agentDataDir(host: Host): string;
  /** Airdrops SOL and USDC to the buyer's wallet (embedded network) and deposits the USDC into escrow. */
  fundBuyer(usdc?: string): Promise<void>;
  supply(): Promise<SupplyResponse>;
  cluster(id: string): Promise<ClusterView>;
  waitForCluster(id: string, done: (c: ClusterView) => boolean, timeoutMs: number): Promise<ClusterView>;
  destroy(): Promise<void>;
}

export interface ClusterNetworkOptions {
  hosts: number;
  /** Extra control-plane environment (e.g. IDLEGRID_NODE_LOSS_SECONDS). */
  cloudEnv?: NodeJS.ProcessEnv;
}

export async function startClusterNetwork(o: ClusterNetworkOptions): Promise<ClusterNetwork> {
  await ensureRayVenv(process.env);
  resolveRayVenv(process.env);
  const root = await mkdtemp(join(tmpdir(), 'idlegrid-cluster-'));
  const net = await createHosts({ count: o.hosts });
  const agents = new Map<string, ChildProcess>();
  let cloud: ChildProcess | undefined;
  const destroy = async () => {
    for (const a of agents.values()) if (a.exitCode === null) killGroup(a, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 2000));
    if (cloud && cloud.exitCode === null) cloud.kill('SIGKILL');
    await net.destroy();
  };
  try {
    const cloudEnv = { ...process.env, IDLEGRID_HOME: join(root, 'cloud-home'), LOG_LEVEL: 'info', ...o.cloudEnv };
    const started = await startCli<{ url: string }>(['cloud', 'serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', join(root, 'cloud'), '--json'], cloudEnv);
    cloud = started.child;
    const log = createWriteStream(join(root, 'cloud.log'));
    cloud.stderr?.pipe(log);
    const port = new URL(started.first.url).port;
    const cloudUrl = `http://${net.bridgeIp}:${port}`;
    const buyerEnv = { ...process.env, IDLEGRID_HOME: join(root, 'buyer-home'), IDLEGRID_CLOUD_URL: cloudUrl };
    const agentDataDir = (host: Host) => join(root, 'agents', host.name);

    const network: ClusterNetwork = {
      net,
      cloudUrl,
      root,
      buyerEnv,
      agents,
      cli: (args, env = buyerEnv, timeoutMs = 300_000) => runCli(args, env, timeoutMs),
      async cliJson<T>(args: string[], env = buyerEnv, timeoutMs = 300_000): Promise<T> {
        // --json first: anything after a `--` belongs to the job's entrypoint.
        const res = await runCli(['--json', ...args], env, timeoutMs);
        if (res.code !== 0) throw new Error(`idlegrid ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
        return JSON.parse(res.stdout) as T;
      },
      agentDataDir,
      async startAgent(host, price) {
        const dir = agentDataDir(host);
        await mkdir(dir, { recursive: true });
        const child = host.exec(process.execPath, [CLI, 'worker', 'start', '--cloud', cloudUrl, '--data-dir', dir, '--region', 'local', '--price', price, '--json'], {
          env: { ...process.env, IDLEGRID_HOME: join(dir, 'home'), LOG_LEVEL: 'info' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const agentLog = createWriteStream(join(root, `agent-${host.name}.log`));
        child.stdout?.pipe(agentLog);
        child.stderr?.pipe(agentLog);
        agents.set(host.name, child);
      },
      async fundBuyer(usdc = '100') {
        await network.cliJson(['wallet', 'airdrop', '--sol', '1', '--io', '0', '--usdc', usdc]);
        await network.cliJson(['wallet', 'deposit', '--amount', usdc, '--token', 'USDC']);
      },
      supply: () => network.cliJson<SupplyResponse>(['cloud', 'search', '--gpu', 'cpu']),
      cluster: (id) => network.cliJson<ClusterView>(['cloud', 'status', id]),
      async waitForCluster(id, done, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const c = await network.cluster(id);
          if (done(c)) return c;
          if (Date.now() > deadline) throw new Error(`cluster ${id} still ${c.state} after ${timeoutMs} ms: ${JSON.stringify(c.nodes)}`);
          await new Promise((r) => setTimeout(r, 500));
        }
      },
      destroy,
    };
    return network;
  } catch (e) {
    await destroy();
    throw e;
  }
}

/** Waits until `count` devices are online in the supply. */
export async function waitForDevices(n: ClusterNetwork, count: number, timeoutMs = 60_000): Promise<SupplyResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await n.supply();
    if (s.totals.devices >= count) return s;
    if (Date.now() > deadline) throw new Error(`only ${s.totals.devices}/${count} devices online; logs in ${n.root}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The buyer's API key for this cloud (the CLI created it on first use). */
export async function buyerApiKey(n: ClusterNetwork): Promise<string> {
  const config = JSON.parse(await readFile(join(n.buyerEnv['IDLEGRID_HOME'] ?? '', 'config.json'), 'utf8')) as { apiKeys: Record<string, string> };
  const key = config.apiKeys[n.cloudUrl];
  if (!key) throw new Error('the buyer has no API key yet');
  return key;
}

/** A Ray job (run as `python -c`) that spreads tasks over the nodes and prints the node IPs it saw. */
export const SPREAD_JOB = [
  'import ray, time',
  'ray.init()',
  '@ray.remote(num_cpus=1)',
  'def where():',
  '    time.sleep(2)',
  '    return ray.util.get_node_ip_address()',
  'ips = sorted(set(ray.get([where.options(scheduling_strategy="SPREAD").remote() for _ in range(9)])))',
  'print("NODE_IPS", ",".join(ips))',
].join('\n');

/** Node IPs a SPREAD_JOB printed. */
export function nodeIpsIn(logs: string): string[] {
  const line = logs.split('\n').find((l) => l.startsWith('NODE_IPS '));
  return line ? line.slice('NODE_IPS '.length).trim().split(',').filter(Boolean) : [];
}
