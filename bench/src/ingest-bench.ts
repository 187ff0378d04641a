// Ingest benchmark: `npm run bench:ingest -- --devices N --json` prints one JSON object as the
// last stdout line; without --json, a short readable summary. Starts a control plane as its own
// process (`idlegrid cloud serve`, temp data dir), opens N real agent sessions from virtual
// agents in child processes (signed hello, honest proof-of-GPU answers, signed heartbeats),
// waits until all are online and one heartbeat period more, then measures for --seconds:
// accepted agent messages/s (the cloud's /metrics counter), heartbeat-to-liveness lag (the
// cloud's idlegrid_heartbeat_lag_ms histogram: signed sentAt → in-memory lastSeen), the cloud's
// RSS and CPU, and p50/p99 of authenticated GET /v1/supply and POST /v1/quotes run meanwhile.
// Options: --devices N (default 1000), --heartbeat-seconds S (default 10), --seconds S (measuring
// window, default 30), --processes P (virtual-agent processes, default ⌈N/8000⌉),
// --connect-rate R (new sessions per second while ramping, default 1000), --no-supply (time only
// quotes: GET /v1/supply filters and sorts every device, so it loads the control plane in proportion to N),
// --replicas R (default 1: R control-plane replicas on a private PostgreSQL and one LiteSVM
// JSON-RPC chain, the devices split evenly among them; the API is timed on the first, which
// knows every device; message rates and the lag histogram are summed over all of them).
import os from 'node:os';
import {
  acceptedMessages, AgentFleet, ApiProbe, createApiKey, histogramQuantile, intOption, processStats, quantile, scrapeMetrics,
  startCloudProcess, sumMetrics, waitForCount, type CloudProcess,
} from './ingest-harness.ts';
import { startReplicaBackends } from '../../apps/cloud/src/testing/replica-backends.ts';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const log = (line: string): void => {
  if (!json) console.log(line);
};
const devices = Math.round(intOption(argv, '--devices', 1000, 'ingest-bench'));
const heartbeatSeconds = intOption(argv, '--heartbeat-seconds', 10, 'ingest-bench');
const windowSeconds = intOption(argv, '--seconds', 30, 'ingest-bench');
const processes = Math.round(intOption(argv, '--processes', Math.ceil(devices / 8000), 'ingest-bench'));
const connectRate = intOption(argv, '--connect-rate', 1000, 'ingest-bench');
const replicaCount = Math.round(intOption(argv, '--replicas', 1, 'ingest-bench'));
const round = (value: number | null, digits = 1): number | null => (value === null ? null : Number(value.toFixed(digits)));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const started = performance.now();
log(`starting ${replicaCount} control plane(s) (heartbeat ${heartbeatSeconds} s)…`);
const backends = replicaCount > 1 ? await startReplicaBackends() : null;
const clouds: CloudProcess[] = [];
for (let i = 0; i < replicaCount; i++) clouds.push(await startCloudProcess({ heartbeatSeconds, ...(backends ? { env: backends.env } : {}) }));
const cloud = clouds[0]!;
const fleets: AgentFleet[] = [];
let probe: ApiProbe | undefined;
try {
  const apiKey = await createApiKey(cloud.url);
  probe = new ApiProbe(cloud.url, apiKey, 200, !argv.includes('--no-supply'));
  probe.start();
  log(`opening ${devices} agent sessions from ${processes} process(es) at ${connectRate}/s…`);
  const rampStarted = performance.now();
  const share = Math.ceil(devices / replicaCount);
  for (const [i, c] of clouds.entries()) {
    const n = Math.min(share, devices - i * share);
    fleets.push(new AgentFleet({ url: c.url, devices: n, heartbeatMs: heartbeatSeconds * 1000, processes: Math.max(1, Math.ceil((processes * n) / devices)), connectPerSecond: connectRate / replicaCount }));
  }
  const totals = () => {
    const all = fleets.map((f) => f.totals());
    return { ...all[0]!, online: all.reduce((n, t) => n + t.online, 0), verifyAnswered: all.reduce((n, t) => n + t.verifyAnswered, 0), wheelLateMs: Math.max(...all.map((t) => t.wheelLateMs)), errors: Object.assign({}, ...all.map((t) => t.errors)) as Record<string, number> };
  };
  const agents = { totals, pids: () => fleets.flatMap((f) => f.pids) };
  const rampLimitMs = Math.max((devices / connectRate) * 4_000, devices * 25) + 120_000;
  await waitForCount(() => agents.totals().online, devices, { timeoutMs: rampLimitMs, stallMs: 60_000, what: `${devices} devices online` }).catch(async (err: unknown) => {
    const health = await fetch(`${cloud.url}/healthz`, { signal: AbortSignal.timeout(5_000) }).then(
      async (res) => `${res.status} ${await res.text()}`,
      (e: unknown) => `no answer (${(e as Error).message})`,
    );
    throw new Error(`${(err as Error).message}; virtual agents: ${JSON.stringify(agents.totals())}; the control plane's /healthz: ${health}`);
  });
  const rampSeconds = (performance.now() - rampStarted) / 1000;
  log(`all ${devices} online after ${rampSeconds.toFixed(1)} s; settling for one heartbeat period…`);
  await sleep(heartbeatSeconds * 1000 + 1000);

  const scrapeAll = async () => sumMetrics(await Promise.all(clouds.map((c) => scrapeMetrics(c.url))));
  const statsAll = () => clouds.map((c) => processStats(c.pid));
  const m0 = await scrapeAll();
  const s0 = statsAll();
  const g0 = agents.pids().map((pid) => processStats(pid).cpuSeconds).reduce((a, b) => a + b, 0);
  const t0 = performance.now();
  probe.reset();
  let peakRss = s0.reduce((n, s) => Math.max(n, s.rssBytes), 0);
  let minOnline = agents.totals().online;
  for (let i = 0; i < windowSeconds; i++) {
    await sleep(1000);
    peakRss = Math.max(peakRss, ...statsAll().map((s) => s.rssBytes));
    minOnline = Math.min(minOnline, agents.totals().online);
  }
  const m1 = await scrapeAll();
  const s1 = statsAll();
  const g1 = agents.pids().map((pid) => processStats(pid).cpuSeconds).reduce((a, b) => a + b, 0);
  // Every replica lists every device (its own and the others'), each counted once per replica in the sum.
  const seenByFirst = (await scrapeMetrics(cloud.url)).get('idlegrid_devices_online') ?? null;
  const elapsed = (performance.now() - t0) / 1000;
  await probe.stop();
  const fleetTotals = agents.totals();

  const heartbeatLagP99 = histogramQuantile(m0, m1, 'idlegrid_heartbeat_lag_ms', 0.99);
  const quoteP99 = quantile(probe.quoteMs, 0.99);
  const result = {
    devices,
    heartbeat_s: heartbeatSeconds,
    window_s: round(elapsed),
    accepted_msgs_per_s: round((acceptedMessages(m1) - acceptedMessages(m0)) / elapsed),
    expected_msgs_per_s: round(devices / heartbeatSeconds),
    heartbeat_lag_p50_ms: histogramQuantile(m0, m1, 'idlegrid_heartbeat_lag_ms', 0.5),
    heartbeat_lag_p99_ms: heartbeatLagP99,
    supply_p50_ms: round(quantile(probe.supplyMs, 0.5)),
    supply_p99_ms: round(quantile(probe.supplyMs, 0.99)),
    quote_p50_ms: round(quantile(probe.quoteMs, 0.5)),
    quote_p99_ms: round(quoteP99),
    api_requests: probe.supplyMs.length + probe.quoteMs.length,
    api_failures: probe.failures,
    online_min: minOnline,
    cloud_devices_online: seenByFirst,
    replicas: replicaCount,
    cloud_rss_mb: round(Math.max(...s1.map((s) => s.rssBytes)) / 2 ** 20),
    cloud_rss_peak_mb: round(peakRss / 2 ** 20),
    cloud_rss_kb_per_device: round(Math.max(...s1.map((s) => s.rssBytes)) / 1024 / devices),
    cloud_cpu_pct: round((100 * s1.reduce((n, s, i) => n + s.cpuSeconds - (s0[i]?.cpuSeconds ?? 0), 0)) / elapsed),
    generator_cpu_pct: round((100 * (g1 - g0)) / elapsed),
    generator_processes: processes,
    generator_wheel_late_ms: fleetTotals.wheelLateMs,
    ramp_s: round(rampSeconds),
    verify_answered: fleetTotals.verifyAnswered,
    errors: fleetTotals.errors,
    holds: heartbeatLagP99 !== null && heartbeatLagP99 < 2000 && quoteP99 !== null && quoteP99 < 100 && minOnline === devices && seenByFirst === devices,
    node: process.version,
    cpus: os.cpus().length,
    load_avg_1m: round(os.loadavg()[0] ?? 0, 2),
    total_s: round((performance.now() - started) / 1000),
  };
  if (json) console.log(JSON.stringify(result));
  else {
    log(`  ${String(result.accepted_msgs_per_s)} accepted msgs/s (expected ${String(result.expected_msgs_per_s)}); heartbeat lag p50 ${String(result.heartbeat_lag_p50_ms)} ms, p99 ${String(result.heartbeat_lag_p99_ms)} ms`);
    log(`  quotes p50 ${String(result.quote_p50_ms)} ms, p99 ${String(result.quote_p99_ms)} ms; supply p50 ${String(result.supply_p50_ms)} ms, p99 ${String(result.supply_p99_ms)} ms`);
    log(`  cloud RSS ${String(result.cloud_rss_mb)} MB, CPU ${String(result.cloud_cpu_pct)} %; generator CPU ${String(result.generator_cpu_pct)} %`);
    log(`  holds (lag p99 < 2 s, quote p99 < 100 ms, all online): ${String(result.holds)}; errors ${JSON.stringify(result.errors)}`);
  }
} finally {
  await probe?.stop();
  for (const f of fleets) await f.stop();
  for (const c of clouds) await c.stop();
  await backends?.stop();
}
