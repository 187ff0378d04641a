import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRpcLedger, requestSolAirdrop } from '@idlegrid/chain';
import { toAddress } from '@idlegrid/domain';
import { generateKeypair, loadOrCreateKeypair, readKeypairFile, type ClusterView } from '@idlegrid/protocol';
import { startTestPostgres, type TestPostgres } from '@idlegrid/store/testing';
import { walletPath } from '../../apps/cli/src/home.ts';
import { freePort, kill, launch, type Proc } from '../chaos/network.ts';
import { runCli } from './cli-process.ts';

/**
 * Replicas, for real: two `idlegrid cloud serve` processes on one PostgreSQL (started here from
 * Debian's binaries), settling on one chain (`idlegrid chain node`, LiteSVM behind JSON-RPC), two
 * `idlegrid worker start --cloud A,B` agents with real Ray, and a buyer using only the follower.
 * The leader is SIGKILLed while the cluster runs; the test measures how long until the other
 * replica leads, then runs a Ray job again, releases, and checks the audit (nothing paid twice).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Six one-second tasks spread over the cluster: they land on both nodes. */
const JOB = 'import ray, time; ray.init(); f = ray.remote(num_cpus=1)(lambda i: (time.sleep(1), ray.get_runtime_context().get_node_id())[1]); '
  + "print('NODES', len(set(ray.get([f.options(scheduling_strategy='SPREAD').remote(i) for i in range(6)]))))";

describe('replicas: two control planes on PostgreSQL, the leader SIGKILLed', () => {
  let root: string;
  let pg: TestPostgres;
  const procs: Proc[] = [];
  let passed = false;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'idlegrid-replicas-'));
    pg = await startTestPostgres();
  }, 60_000);

  afterAll(async () => {
    for (const p of procs.reverse()) await kill(p, 'SIGTERM');
    await pg.stop();
    if (passed) await rm(root, { recursive: true, force: true });
    else console.log(JSON.stringify({ replicas_e2e_data: root }));
  });

  it('books through the follower across replicas, fails over within 10 s, keeps the cluster, settles once', async () => {
    const env = { ...process.env, IDLEGRID_HOME: join(root, 'home') };
    // The chain both replicas settle on, its protocol authority funded and bootstrapped.
    const authorityFile = join(root, 'authority.json');
    const authority = generateKeypair();
    await writeFile(authorityFile, JSON.stringify(Array.from(authority.secretKey)), { mode: 0o600 });
    const chainPort = await freePort();
    const chainUrl = `http://127.0.0.1:${chainPort}`;
    procs.push(launch(['chain', 'node', '--json', '--port', String(chainPort), '--fund', authority.address], env, join(root, 'chain.log')));
    await until('the chain node', async () => ((await fetch(chainUrl, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"getBlockHeight"}' })).ok ? true : undefined), 30_000);
    await until('the authority funded', async () => {
      const r = await runCli(['--json', 'chain', 'init', '--chain', chainUrl, '--authority', authorityFile], env);
      return r.code === 0 ? true : undefined;
    }, 30_000, 500);

    // Two replicas on one database.
    const [portA, portB] = [await freePort(), await freePort()];
    const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
    const replicaEnv = {
      ...env, IDLEGRID_SETTLE_SECONDS: '3', IDLEGRID_NODE_LOSS_SECONDS: '10', IDLEGRID_HEARTBEAT_SECONDS: '2', IDLEGRID_FLUSH_SECONDS: '2', LOG_LEVEL: 'info',
    };
    const serve = (port: number, name: string) => launch(
      ['cloud', 'serve', '--json', '--port', String(port), '--data-dir', join(root, name), '--database-url', pg.url, '--chain', chainUrl, '--authority', authorityFile],
      replicaEnv, join(root, `${name}.log`),
    );
    const health = async (url: string) => (await (await fetch(`${url}/healthz`)).json()) as { replica: { id: string; leader: boolean } };
    const a = serve(portA, 'replica-a');
    procs.push(a);
    await until('A leads', async () => ((await health(urlA)).replica.leader ? true : undefined), 60_000);
    procs.push(serve(portB, 'replica-b'));
    await until('B follows A', async () => {
      const r = (await (await fetch(`${urlB}/v1/replicas`)).json()) as { leader: string | null; replicas: unknown[] };
      return r.replicas.length === 2 && r.leader === (await health(urlA)).replica.id ? true : undefined;
    }, 60_000);

    // Two agents with real Ray; each lists both replicas, in opposite orders: one connects to each.
    for (const [i, list] of [[0, `${urlA},${urlB}`], [1, `${urlB},${urlA}`]] as const) {
      const dir = join(root, `agent-${i + 1}`);
      await mkdir(dir, { recursive: true });
      procs.push(launch(['worker', 'start', '--json', '--cloud', list, '--data-dir', dir, '--region', 'local', '--price', (0.1 + i * 0.02).toFixed(2)],
        { ...env, IDLEGRID_HOME: join(dir, 'home'), IDLEGRID_RAY_PORT_BASE: String(24_000 + i * 1_000) }, join(dir, 'agent.log')));
    }
    const devicesOf = async (url: string) => (await (await fetch(`${url}/v1/replicas`)).json()) as { replicas: Array<{ id: string; devices: number }> };
    await until('one agent on each replica, both verified everywhere', async () => {
      const supply = (await (await fetch(`${urlB}/v1/supply?gpu=cpu`)).json()) as { totals: { freeSlots: number } };
      const counts = (await devicesOf(urlB)).replicas.map((r) => r.devices);
      return supply.totals.freeSlots === 2 && counts.every((c) => c === 1) ? true : undefined;
    }, 120_000, 500);

    // A buyer funded on the chain (no airdrop off the embedded network) uses only the follower, B.
    const buyerEnv = { ...env, IDLEGRID_HOME: join(root, 'buyer') };
    const buyerCli = async <T>(args: string[], timeoutMs = 180_000): Promise<T> => {
      const r = await runCli(['--json', '--cloud', urlB, ...args], buyerEnv, timeoutMs);
      expect(r.code, `idlegrid ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as T;
    };
    const buyer = (await loadOrCreateKeypair(walletPath(buyerEnv))).keypair;
    await requestSolAirdrop(chainUrl, toAddress(buyer.address), 1_000_000_000n);
    const ledger = await openRpcLedger({ url: chainUrl, authority: await readKeypairFile(authorityFile) });
    await ledger.mintTo({ id: `buyer-${buyer.address}`, memo: 'idlegrid:emit:e2e-buyer', mints: [{ to: buyer.address, amount: 30_000_000n }], mint: 'IO' });
    await buyerCli(['wallet', 'deposit', '--amount', '30', '--token', 'IO']);
    const cluster = await buyerCli<ClusterView>(['cloud', 'deploy', '--gpu', 'cpu', '--count', '2', '--hours', '0.25', '--topology', 'spread', '--wait']);
    expect(cluster.state).toBe('ready');
    expect(cluster.endpoints.ray.startsWith(urlB)).toBe(true);
    const first = await buyerCli<{ status: string; logs: string }>(['cloud', 'jobs', 'submit', cluster.id, '--', 'python', '-c', JOB]);
    expect(first.status).toBe('SUCCEEDED');
    expect(first.logs).toContain('NODES 2');

    // SIGKILL the leader; B must lead within 10 s; A's agent reconnects to B and the cluster stays.
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exited;
    await until('B leads', async () => ((await health(urlB)).replica.leader ? true : undefined), 30_000, 100);
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThan(10_000);
    await until('both agents on B', async () => ((await devicesOf(urlB)).replicas.find((r) => r.devices === 2) ? true : undefined), 60_000, 500);
    const after = await buyerCli<ClusterView>(['cloud', 'status', cluster.id]);
    expect(after.state).toBe('ready');
    expect(after.nodes.filter((n) => n.state === 'joined')).toHaveLength(2);
    const second = await buyerCli<{ status: string; logs: string }>(['cloud', 'jobs', 'submit', cluster.id, '--', 'python', '-c', JOB]);
    expect(second.status).toBe('SUCCEEDED');
    expect(second.logs).toContain('NODES 2');

    // Released on the new leader; settled; every batch paid once (the audit re-reads the chain).
    await buyerCli(['cloud', 'release', cluster.id, '--wait']);
    const audit = await buyerCli<{ consistent: boolean; settled: boolean; batches: unknown[]; devices: Array<{ billedSeconds: number }> }>(
      ['cloud', 'audit', cluster.id, '--wait-settled', '90'], 150_000);
    expect(audit.settled).toBe(true);
    expect(audit.consistent).toBe(true);
    expect(audit.batches.length).toBeGreaterThan(0);
    for (const d of audit.devices) expect(d.billedSeconds).toBeGreaterThan(0);
    const bLog = await readFile(join(root, 'replica-b.log'), 'utf8');
    expect(bLog).toContain('this replica is now the leader');
    console.log(JSON.stringify({ replicas_e2e: { failoverMs, batches: audit.batches.length, billedSeconds: audit.devices.map((d) => d.billedSeconds) } }));
    passed = true;
  }, 600_000);
});
