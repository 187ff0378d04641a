// Soak benchmark: `npm run bench:soak -- --minutes M --json` prints one JSON object as the last
// stdout line (without --json, one readable line per sample). A control plane process and
// --devices virtual agents (default 2000, heartbeat --heartbeat-seconds, default 10) run for M
// minutes with churn: every 10 s, --churn-pct percent of the devices (default 5) disconnect
// and reconnect with the same key 2 s later (a new session: challenge, hello, re-verification).
// Every --sample-seconds (default 30) it records the cloud's RSS, devices online, accepted
// messages/s, heartbeat lag p99 and GET /v1/supply + POST /v1/quotes p99 over the interval.
// Memory growth is the last sample's RSS against the first one taken after the warm-up
// (one sample interval after all devices came online).
import os from 'node:os';
import {
  acceptedMessages, AgentFleet, ApiProbe, createApiKey, histogramQuantile, intOption, processStats, quantile, scrapeMetrics,
  startCloudProcess, waitForCount,
} from './ingest-harness.ts';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const log = (line: string): void => {
  if (!json) console.log(line);
};
const minutes = intOption(argv, '--minutes', 5, 'ingest-soak');
const devices = Math.round(intOption(argv, '--devices', 2000, 'ingest-soak'));
const heartbeatSeconds = intOption(argv, '--heartbeat-seconds', 10, 'ingest-soak');
const churnPct = intOption(argv, '--churn-pct', 5, 'ingest-soak');
const sampleSeconds = intOption(argv, '--sample-seconds', 30, 'ingest-soak');
const processes = Math.round(intOption(argv, '--processes', Math.ceil(devices / 8000), 'ingest-soak'));
const CHURN_EVERY_MS = 10_000;
const round = (value: number | null, digits = 1): number | null => (value === null ? null : Number(value.toFixed(digits)));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  t_s: number;
  rss_mb: number;
  online: number;
  accepted_msgs_per_s: number;
  heartbeat_lag_p99_ms: number | null;
  supply_p99_ms: number | null;
  quote_p99_ms: number | null;
  cloud_cpu_pct: number;
}

const started = performance.now();
const cloud = await startCloudProcess({ heartbeatSeconds });
let fleet: AgentFleet | undefined;
let probe: ApiProbe | undefined;
let churnTimer: NodeJS.Timeout | undefined;
try {
  probe = new ApiProbe(cloud.url, await createApiKey(cloud.url), 500);
  probe.start();
  const agents = new AgentFleet({ url: cloud.url, devices, heartbeatMs: heartbeatSeconds * 1000, processes, connectPerSecond: 400 });
  fleet = agents;
  await waitForCount(() => agents.totals().online, devices, { timeoutMs: (devices / 400) * 4_000 + 60_000, stallMs: 60_000, what: `${devices} devices online` });
  log(`${devices} devices online; churning ${churnPct} % every ${CHURN_EVERY_MS / 1000} s for ${minutes} min`);
  const churnCount = Math.max(1, Math.round((devices * churnPct) / 100));
  churnTimer = setInterval(() => agents.churn(churnCount, 2000), CHURN_EVERY_MS);

  const samples: Sample[] = [];
  const soakStarted = performance.now();
  let m0 = await scrapeMetrics(cloud.url);
  let s0 = processStats(cloud.pid);
  let t0 = performance.now();
  probe.reset();
  while (performance.now() - soakStarted < minutes * 60_000) {
    await sleep(Math.min(sampleSeconds * 1000, minutes * 60_000 - (performance.now() - soakStarted)));
    const m1 = await scrapeMetrics(cloud.url);
    const s1 = processStats(cloud.pid);
    const elapsed = (performance.now() - t0) / 1000;
    const sample: Sample = {
      t_s: Math.round((performance.now() - soakStarted) / 1000),
      rss_mb: round(s1.rssBytes / 2 ** 20) ?? 0,
      online: m1.get('idlegrid_devices_online') ?? 0,
      accepted_msgs_per_s: round((acceptedMessages(m1) - acceptedMessages(m0)) / elapsed) ?? 0,
      heartbeat_lag_p99_ms: histogramQuantile(m0, m1, 'idlegrid_heartbeat_lag_ms', 0.99),
      supply_p99_ms: round(quantile(probe.supplyMs, 0.99)),
      quote_p99_ms: round(quantile(probe.quoteMs, 0.99)),
      cloud_cpu_pct: round((100 * (s1.cpuSeconds - s0.cpuSeconds)) / elapsed) ?? 0,
    };
    samples.push(sample);
    log(`  ${JSON.stringify(sample)}`);
    m0 = m1;
    s0 = s1;
    t0 = performance.now();
    probe.reset();
  }
  clearInterval(churnTimer);
  const totals = agents.totals();
  // The first sample includes the warm-up (JIT, first flushes); growth counts from the second when there is one.
  const base = samples.length > 2 ? samples[1] : samples[0];
  const last = samples.at(-1);
  const worst = (pick: (s: Sample) => number | null) => samples.reduce<number | null>((m, s) => Math.max(m ?? 0, pick(s) ?? 0), null);
  const result = {
    minutes,
    devices,
    heartbeat_s: heartbeatSeconds,
    churn_pct_per_10s: churnPct,
    reconnects: totals.welcomed - devices,
    rss_start_mb: base?.rss_mb ?? null,
    rss_end_mb: last?.rss_mb ?? null,
    rss_growth_pct: base && last ? round((100 * (last.rss_mb - base.rss_mb)) / base.rss_mb) : null,
    heartbeat_lag_p99_ms_worst: worst((s) => s.heartbeat_lag_p99_ms),
    quote_p99_ms_worst: worst((s) => s.quote_p99_ms),
    supply_p99_ms_worst: worst((s) => s.supply_p99_ms),
    errors: totals.errors,
    samples,
    node: process.version,
    cpus: os.cpus().length,
    load_avg_1m: round(os.loadavg()[0] ?? 0, 2),
    total_s: round((performance.now() - started) / 1000),
  };
  if (json) console.log(JSON.stringify(result));
  else log(`RSS ${String(result.rss_start_mb)} → ${String(result.rss_end_mb)} MB (${String(result.rss_growth_pct)} %), worst p99: lag ${String(result.heartbeat_lag_p99_ms_worst)} ms, quote ${String(result.quote_p99_ms_worst)} ms`);
} finally {
  clearInterval(churnTimer);
  await probe?.stop();
  await fleet?.stop();
  await cloud.stop();
}
