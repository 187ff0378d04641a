// Failover benchmark: `npm run bench:failover -- --replicas 3 --rounds 10 --json` prints one JSON
// object as the last stdout line. It starts a private PostgreSQL (Debian's binaries), a LiteSVM
// JSON-RPC chain in this process, and --replicas `idlegrid cloud serve` processes on that database
// and chain (startReplicaBackends, startCloudProcess). Each round SIGKILLs the replica that leads, measures the milliseconds until another
// replica's /healthz says it leads (polled every 20 ms), counts any moment at which two live
// replicas claimed the lead, then restarts the killed one and waits until it follows again.
import os from 'node:os';
import { startReplicaBackends } from '../../apps/cloud/src/testing/replica-backends.ts';
import { intOption, quantile, startCloudProcess, type CloudProcess } from './ingest-harness.ts';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const log = (line: string): void => {
  if (!json) console.log(line);
};
const replicaCount = Math.round(intOption(argv, '--replicas', 3, 'replica-failover'));
const rounds = Math.round(intOption(argv, '--rounds', 10, 'replica-failover'));
if (replicaCount < 2) throw new Error('replica-failover: --replicas must be at least 2');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One replica slot; a killed replica is started again in the same slot (new port and data dir). */
interface Replica {
  cloud: CloudProcess | null;
}

const backends = await startReplicaBackends();
const serve = async (r: Replica): Promise<void> => {
  r.cloud = await startCloudProcess({ heartbeatSeconds: 5, env: backends.env });
};

async function health(r: Replica): Promise<{ id: string; leader: boolean } | null> {
  if (!r.cloud) return null;
  try {
    const res = await fetch(`${r.cloud.url}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return ((await res.json()) as { replica: { id: string; leader: boolean } }).replica;
  } catch {
    return null;
  }
}

async function leaders(list: readonly Replica[]): Promise<Replica[]> {
  const states = await Promise.all(list.map(async (r) => ({ r, h: await health(r) })));
  return states.filter((s) => s.h?.leader === true).map((s) => s.r);
}

const replicas: Replica[] = [];
const failovers: number[] = [];
let doubleLeaderObservations = 0;
try {
  for (let i = 0; i < replicaCount; i++) {
    const r: Replica = { cloud: null };
    await serve(r);
    replicas.push(r);
  }
  for (;;) {
    if ((await leaders(replicas)).length === 1) break;
    await sleep(100);
  }
  log(`${replicaCount} replicas up; ${rounds} rounds of SIGKILL to the leader`);
  for (let round = 1; round <= rounds; round++) {
    const [leader] = await leaders(replicas);
    const killed = leader?.cloud;
    if (!leader || !killed) throw new Error('no leader to kill');
    const exited = new Promise((resolve) => killed.child.once('exit', resolve));
    const t0 = performance.now();
    killed.child.kill('SIGKILL');
    await exited;
    leader.cloud = null;
    await killed.stop();
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
    await serve(leader);
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
  for (const r of replicas) await r.cloud?.stop();
  await backends.stop();
}
