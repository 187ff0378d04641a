// Failover benchmark: `npm run bench:failover -- --replicas 3 --rounds 10 --json` prints one JSON
// object as the last stdout line. It starts a private PostgreSQL (Debian's binaries), a LiteSVM
// JSON-RPC chain in this process, and --replicas `idlegrid cloud serve` processes on that database
// and chain. Each round SIGKILLs the replica that leads, measures the milliseconds until another
// replica's /healthz says it leads (polled every 20 ms), counts any moment at which two live
// replicas claimed the lead, then restarts the killed one and waits until it follows again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestSolAirdrop, startLiteSvmRpc } from '@idlegrid/chain';
import { toAddress } from '@idlegrid/domain';
import { generateKeypair } from '@idlegrid/protocol';
import { startTestPostgres } from '@idlegrid/store/testing/postgres';
import { intOption, quantile } from './ingest-harness.ts';

const CLI = fileURLToPath(new URL('../../apps/cli/bin/idlegrid.js', import.meta.url));
const argv = process.argv.slice(2);
const json = argv.includes('--json');
const log = (line: string): void => {
  if (!json) console.log(line);
};
const replicaCount = Math.round(intOption(argv, '--replicas', 3, 'replica-failover'));
const rounds = Math.round(intOption(argv, '--rounds', 10, 'replica-failover'));
if (replicaCount < 2) throw new Error('replica-failover: --replicas must be at least 2');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Replica {
  port: number;
  url: string;
  child: ChildProcess | null;
}

const root = mkdtempSync(join(os.tmpdir(), 'idlegrid-failover-'));
const pg = await startTestPostgres();
const chain = await startLiteSvmRpc();
const authority = generateKeypair();
const authorityFile = join(root, 'authority.json');
writeFileSync(authorityFile, JSON.stringify(Array.from(authority.secretKey)), { mode: 0o600 });
await requestSolAirdrop(chain.url, toAddress(authority.address), 100_000_000_000n);

/** Starts `cloud serve` for r and resolves with its URL once it printed its ready line. */
function serve(r: Replica, name: string): Promise<void> {
  const child = spawn(process.execPath, [
    CLI, 'cloud', 'serve', '--json', '--port', String(r.port), '--data-dir', join(root, name),
    '--database-url', pg.url, '--chain', chain.url, '--authority', authorityFile,
  ], { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  r.child = child;
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-4000);
  });
  return new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line) {
        r.url = (JSON.parse(line) as { url: string }).url;
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`cloud serve exited (${String(code)}) before it was ready: ${stderr}`)));
  });
}

async function health(r: Replica): Promise<{ id: string; leader: boolean } | null> {
  try {
    const res = await fetch(`${r.url}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return ((await res.json()) as { replica: { id: string; leader: boolean } }).replica;
  } catch {
    return null;
  }
}

async function leaders(list: readonly Replica[]): Promise<Replica[]> {
  const states = await Promise.all(list.map(async (r) => ({ r, h: r.child ? await health(r) : null })));
  return states.filter((s) => s.h?.leader === true).map((s) => s.r);
}

const replicas: Replica[] = [];
const failovers: number[] = [];
let doubleLeaderObservations = 0;
try {
  for (let i = 0; i < replicaCount; i++) {
    const r: Replica = { port: 0, url: '', child: null };
    await serve(r, `replica-${i}`);
    r.port = Number(new URL(r.url).port);
    replicas.push(r);
  }
  for (;;) {
    if ((await leaders(replicas)).length === 1) break;
    await sleep(100);
  }
  log(`${replicaCount} replicas up; ${rounds} rounds of SIGKILL to the leader`);
  for (let round = 1; round <= rounds; round++) {
    const [leader] = await leaders(replicas);
    if (!leader?.child) throw new Error('no leader to kill');
    const exited = new Promise((resolve) => leader.child?.once('exit', resolve));
    const t0 = performance.now();
    leader.child.kill('SIGKILL');
    await exited;
    leader.child = null;
    const rest = replicas.filter((r) => r !== leader);
    for (;;) {
      const now = await leaders(rest);
      if (now.length > 1) doubleLeaderObservations++;
      if (now.length >= 1) break;
      if (performance.now() - t0 > 60_000) throw new Error('no replica took the lead within 60 s');
      await sleep(20);
    }
    const ms = performance.now() - t0;
    failovers.push(ms);
    log(`round ${round}: the lead moved in ${ms.toFixed(0)} ms`);
    await serve(leader, `replica-${replicas.indexOf(leader)}-r${round}`);
    for (;;) {
      const h = await health(leader);
      if (h && !h.leader && (await leaders(replicas)).length === 1) break;
      await sleep(100);
    }
  }
  const result = {
    replicas: replicaCount,
    rounds,
    failover_ms_p50: Number((quantile(failovers, 0.5) ?? 0).toFixed(0)),
    failover_ms_max: Number(Math.max(...failovers).toFixed(0)),
    failover_ms: failovers.map((m) => Number(m.toFixed(0))),
    double_leader_observations: doubleLeaderObservations,
    tick_ms: 1000,
    machine: { cpus: os.cpus().length, load_avg_1m: Number(os.loadavg()[0]?.toFixed(2)), node: process.version },
  };
  console.log(JSON.stringify(result));
} finally {
  for (const r of replicas) r.child?.kill('SIGTERM');
  await sleep(1_000);
  for (const r of replicas) r.child?.kill('SIGKILL');
  await chain.close();
  await pg.stop();
  rmSync(root, { recursive: true, force: true });
}
