// Shared parts of the ingest benchmarks: the control plane as its own process (`idlegrid
// cloud serve` on a temp data dir), its /metrics and /proc figures, an API key from the
// wallet login flow, timed GET /v1/supply and POST /v1/quotes, and the virtual-agent children.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeypair, signBytes } from '@idlegrid/protocol';
import type { AgentsCommand, AgentsReport } from './ingest-agents.ts';

const CLI = fileURLToPath(new URL('../../apps/cli/bin/idlegrid.js', import.meta.url));
const AGENTS = fileURLToPath(new URL('./ingest-agents.ts', import.meta.url));
const CLK_TCK = 100;

export interface CloudProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `idlegrid cloud serve --port 0` on a fresh data dir. The proof-of-GPU cpu challenge is
 * n = 16 (IDLEGRID_VERIFY_CPU_N, the configured minimum) so that thousands of virtual devices can
 * answer it honestly at connect; logs are at warn (one info line per device would dominate).
 */
export async function startCloudProcess(options: { heartbeatSeconds: number; env?: Record<string, string> }): Promise<CloudProcess> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'idlegrid-ingest-'));
  const env = {
    ...process.env,
    LOG_LEVEL: 'warn',
    IDLEGRID_HEARTBEAT_SECONDS: String(options.heartbeatSeconds),
    IDLEGRID_NODE_LOSS_SECONDS: String(Math.max(15, options.heartbeatSeconds * 3)),
    IDLEGRID_HELLO_TIMEOUT_SECONDS: '30',
    IDLEGRID_VERIFY_CPU_N: '16',
    ...options.env,
  };
  // IDLEGRID_BENCH_CLOUD_PROF=<dir>: the control plane writes a V8 CPU profile there when it stops.
  const prof = process.env['IDLEGRID_BENCH_CLOUD_PROF'];
  const child = spawn(process.execPath, [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), CLI, 'cloud', 'serve', '--port', '0', '--data-dir', dataDir, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`cloud serve exited (${String(code)}) before it was ready: ${stderr}`)));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  if (child.pid === undefined) throw new Error('cloud serve did not start');
  return { url, pid: child.pid, child, stop };
}

/** Resident memory (bytes) and CPU time (seconds, user + system) of a process, from /proc. */
export function processStats(pid: number): { rssBytes: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state is field 3, utime 14 and stime 15 (1-based, of the whole line).
  const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  return { rssBytes: rssKb * 1024, cpuSeconds: ticks / CLK_TCK };
}

/** Prometheus text → value by series (`name{labels}` exactly as rendered). */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

/** Series summed over several scrapes (several replicas' /metrics). */
export function sumMetrics(scrapes: ReadonlyArray<Map<string, number>>): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of scrapes) for (const [k, v] of m) out.set(k, (out.get(k) ?? 0) + v);
  return out;
}

/** Agent messages the gateway accepted (all types). */
export function acceptedMessages(metrics: Map<string, number>): number {
  let total = 0;
  for (const [key, value] of metrics) if (key.startsWith('idlegrid_agent_messages_total{') && key.includes('result="accepted"')) total += value;
  return total;
}

/** The q-quantile of a histogram between two scrapes (upper bound of the bucket it falls in; null without observations). */
export function histogramQuantile(before: Map<string, number>, after: Map<string, number>, name: string, q: number): number | null {
  const buckets: Array<{ le: number; count: number }> = [];
  for (const [key, value] of after) {
    const m = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`).exec(key);
    if (!m?.[1]) continue;
    buckets.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: value - (before.get(key) ?? 0) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const found = buckets.find((b) => b.count >= q * total);
  return found ? found.le : null;
}

/** An API key for a fresh wallet, through GET /v1/auth/challenge and POST /v1/auth/keys. */
export async function createApiKey(url: string): Promise<string> {
  const wallet = generateKeypair();
  const challenge = (await (await fetch(`${url}/v1/auth/challenge?wallet=${wallet.address}`)).json()) as { nonce: string; message: string };
  const res = await fetch(`${url}/v1/auth/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ wallet: wallet.address, nonce: challenge.nonce, signature: signBytes(wallet, challenge.message), label: 'ingest-bench' }),
  });
  if (!res.ok) throw new Error(`POST /v1/auth/keys: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { apiKey: string }).apiKey;
}

/**
 * Times POST /v1/quotes every `everyMs` and GET /v1/supply every fifth round, until stopped. Supply
 * is rarer because it still filters and sorts every verified device (it lists the 100 cheapest).
 */
export class ApiProbe {
  readonly supplyMs: number[] = [];
  readonly quoteMs: number[] = [];
  failures = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly apiKey: string,
    private readonly everyMs = 200,
    /** Also time GET /v1/supply (every fifth round). */
    private readonly withSupply = true,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Drops what was measured so far (a new sampling window). */
  reset(): void {
    this.supplyMs.length = 0;
    this.quoteMs.length = 0;
    this.failures = 0;
  }

  private async run(): Promise<void> {
    const headers = { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json' };
    for (let round = 0; this.running; round++) {
      const started = performance.now();
      if (this.withSupply && round % 5 === 0) await this.timed(this.supplyMs, () => fetch(`${this.url}/v1/supply?gpu=cpu`, { headers }));
      await this.timed(this.quoteMs, () =>
        fetch(`${this.url}/v1/quotes`, { method: 'POST', headers, body: JSON.stringify({ gpu: 'cpu', count: 8, hours: 1 }) }),
      );
      const rest = this.everyMs - (performance.now() - started);
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    }
  }

  private async timed(into: number[], request: () => Promise<Response>): Promise<void> {
    const started = performance.now();
    try {
      const res = await request();
      await res.arrayBuffer();
      if (res.ok) into.push(performance.now() - started);
      else this.failures += 1;
    } catch {
      this.failures += 1;
    }
  }
}

export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

/** The virtual-agent children, their latest reports summed. */
export class AgentFleet {
  private readonly children: ChildProcess[] = [];
  private readonly reports = new Map<number, AgentsReport>();

  constructor(options: { url: string; devices: number; heartbeatMs: number; processes: number; connectPerSecond: number }) {
    const per = Math.ceil(options.devices / options.processes);
    for (let i = 0; i < options.processes; i++) {
      const devices = Math.min(per, options.devices - i * per);
      if (devices <= 0) break;
      const child = fork(AGENTS, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.on('message', (m: AgentsReport) => this.reports.set(i, m));
      const start: AgentsCommand = {
        type: 'start',
        url: options.url,
        devices,
        heartbeatMs: options.heartbeatMs,
        // Each child its own loopback source address: one address has only ~28k ephemeral ports.
        localAddress: `127.0.0.${10 + i}`,
        connectPerSecond: Math.max(1, Math.round(options.connectPerSecond / options.processes)),
      };
      child.send(start);
      this.children.push(child);
    }
  }

  get pids(): number[] {
    return this.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  totals(): Omit<AgentsReport, 'type'> {
    const sum: Omit<AgentsReport, 'type'> = { online: 0, connecting: 0, welcomed: 0, heartbeats: 0, verifyAnswered: 0, probesAnswered: 0, closed: 0, errors: {}, wheelLateMs: 0 };
    for (const r of this.reports.values()) {
      sum.online += r.online;
      sum.connecting += r.connecting;
      sum.welcomed += r.welcomed;
      sum.heartbeats += r.heartbeats;
      sum.verifyAnswered += r.verifyAnswered;
      sum.probesAnswered += r.probesAnswered;
      sum.closed += r.closed;
      sum.wheelLateMs = Math.max(sum.wheelLateMs, r.wheelLateMs);
      for (const [code, n] of Object.entries(r.errors)) sum.errors[code] = (sum.errors[code] ?? 0) + n;
    }
    return sum;
  }

  /** Closes `count` online devices spread over the children; each reconnects with its key after `reconnectAfterMs`. */
  churn(count: number, reconnectAfterMs: number): void {
    const per = Math.ceil(count / Math.max(1, this.children.length));
    for (const c of this.children) c.send({ type: 'churn', count: per, reconnectAfterMs } satisfies AgentsCommand);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.send({ type: 'stop' } satisfies AgentsCommand);
            setTimeout(() => c.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
  }
}

/** Resolves when `check` holds, polling every 250 ms; rejects after `timeoutMs`. */
/**
 * Waits until `count()` reaches `target`; gives up when it has not grown for `stallMs` (the
 * control plane stopped taking sessions) or after `timeoutMs` in all.
 */
export async function waitForCount(count: () => number, target: number, o: { timeoutMs: number; stallMs: number; what: string }): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let best = count();
  let grewAt = Date.now();
  for (let current = best; current < target; current = count()) {
    const now = Date.now();
    if (current > best) {
      best = current;
      grewAt = now;
    }
    if (now > deadline) throw new Error(`timed out waiting for ${o.what} (${best} reached)`);
    if (now - grewAt > o.stallMs) throw new Error(`gave up waiting for ${o.what}: stuck at ${best} for ${Math.round(o.stallMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The positive integer after `flag` (also `flag=N`) in argv, or `fallback`. */
export function intOption(argv: readonly string[], flag: string, fallback: number, name: string): number {
  const i = argv.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  if (i < 0) return fallback;
  const arg = argv[i] ?? '';
  const raw = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1];
  const value = Number(raw);
  if (raw === undefined || !Number.isFinite(value) || value <= 0) {
    console.error(`${name}: ${flag} expects a positive number, got ${raw ?? 'nothing'}`);
    process.exit(2);
  }
  return value;
}
