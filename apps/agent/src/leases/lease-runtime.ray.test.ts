// Real Ray, no mocks: two "devices" (two LeaseRuntimes with their own data dirs) on this
// host form one Ray cluster for a lease, in the sandbox the agent picks by default.
// Needs the Ray venv; beforeAll runs scripts/setup-ray.sh (a no-op when it is current).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLeaseId, type LeaseId } from '@idlegrid/domain';
import { loadOrCreateKeypair } from '@idlegrid/protocol';
import { blocksOverlap, createJobsClient, ensureRayVenv, firstFreePortBase, listAliveNodes, pythonEntrypoint, rayRequest, waitForNodes } from '@idlegrid/ray';
import type { OutgoingAgentMessage } from '../handlers.ts';
import { setupWorker } from '../setup.ts';
import { LeaseRuntime } from './lease-runtime.ts';
import { rayLauncher } from './ray-launcher.ts';
import { linkedWorkDir } from './work-dir.ts';

type LeaseStatus = Extract<OutgoingAgentMessage, { type: 'lease-status' }>;

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'warn' });
const TOKEN = `lease-token-${process.pid}-abcdefghijklmnop`;
const LEASE = leaseId('lse_0000000000000000000a');

function leaseId(id: string): LeaseId {
  if (!isLeaseId(id)) throw new Error(`not a lease id: ${id}`);
  return id;
}
/** Bases for 2 blocks in 29600–32400: below the kernel's ephemeral ports, apart from packages/ray's cluster test. */
const PORT_BASES = Array.from({ length: 7 }, (_, k) => 29_600 + ((process.pid + k) % 7) * 400);
let PORT_BASE = 0;
const SECRET_ENV = 'IDLEGRID_TEST_AGENT_SECRET';

/** The host's primary IPv4 address (what the cloud connection's local address would be). */
function hostIp(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** Command lines of live processes that mention `marker` (a node's work dir). */
function processesMentioning(marker: string): string[] {
  return execFileSync('ps', ['-eo', 'stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(marker) && !/^\s*Z/.test(l) && !l.includes('ps -eo'));
}

interface Device {
  launcher: ReturnType<typeof rayLauncher>;
  dataDir: string;
  keyPath: string;
  sent: LeaseStatus[];
  runtime: LeaseRuntime;
}

const nodeIp = hostIp();
const devices: Device[] = [];
let root = '';

async function device(name: string): Promise<Device> {
  const dataDir = path.join(root, name);
  const keyPath = path.join(dataDir, 'device-key.json');
  await loadOrCreateKeypair(keyPath);
  const sent: LeaseStatus[] = [];
  const launcher = rayLauncher({
    env: process.env, sandbox: null, sandboxUser: 'idlegrid-ray', hide: [dataDir], secrets: [keyPath], logger,
    objectStoreMemoryBytes: 100 * 1024 * 1024,
  });
  const runtime = await LeaseRuntime.create({
    dataDir,
    portBase: PORT_BASE,
    nodeIp: () => nodeIp,
    gpuIndices: [],
    launcher,
    send: (m) => {
      if (m.type === 'lease-status') sent.push(m);
      return true;
    },
    logger,
  });
  const d = { launcher, dataDir, keyPath, sent, runtime };
  devices.push(d);
  return d;
}

function states(d: Device): string[] {
  return d.sent.map((s) => s.state);
}

function last(d: Device): LeaseStatus {
  const s = d.sent.at(-1);
  if (!s) throw new Error('no status sent');
  return s;
}

let a: Device;
let b: Device;

beforeAll(async () => {
  await ensureRayVenv(process.env, { onOutput: (s) => process.stderr.write(s) });
  process.env[SECRET_ENV] = 'agent-secret-must-not-leak';
  root = await mkdtemp(path.join(os.tmpdir(), 'igr-agent-t-'));
  PORT_BASE = await firstFreePortBase(PORT_BASES, 2);
  a = await device('device-a');
  b = await device('device-b');
}, 900_000);

afterAll(async () => {
  await Promise.all(devices.map((d) => d.runtime.stop()));
  if (root !== '') await rm(root, { recursive: true, force: true });
  Reflect.deleteProperty(process.env, SECRET_ENV);
}, 120_000);

describe('LeaseRuntime with real Ray (two devices on this host, one lease)', () => {
  it('starts the head: starting → joined with an endpoint whose dashboard needs the token', async () => {
    const t = performance.now();
    await a.runtime.assign({ type: 'assign', leaseId: LEASE, role: 'head', head: null, rayToken: TOKEN, resources: { gpus: 0, cpus: 1 }, expiresAt: Date.now() + 3_600_000 });
    console.log(`[agent] head joined after ${((performance.now() - t) / 1000).toFixed(1)} s (incl. the sandbox check)`);
    expect(states(a), last(a).reason ?? '').toEqual(['starting', 'joined']);
    const joined = last(a);
    expect(joined.rayNodeId).toMatch(/^[0-9a-f]{56}$/);
    const ports = a.runtime.get(LEASE)?.ports;
    if (!ports) throw new Error('no ports');
    expect(ports.base).toBeGreaterThanOrEqual(PORT_BASE);
    expect(joined.endpoint).toEqual({
      nodeIp,
      gcsAddress: `${nodeIp}:${ports.gcs}`,
      dashboardUrl: `http://${nodeIp}:${ports.dashboard}`,
      serveUrl: `http://${nodeIp}:${ports.serveHttp}`,
    });
    const url = joined.endpoint?.dashboardUrl ?? '';
    expect((await rayRequest({ url, token: TOKEN }, { method: 'GET', path: '/api/version' })).status).toBe(200);
    expect((await rayRequest({ url }, { method: 'GET', path: '/api/version' })).status).toBe(401);
    const work = await linkedWorkDir(path.join(a.dataDir, 'leases', LEASE), 'head');
    if (!work) throw new Error('no work dir');
    expect((await stat(work)).mode & 0o777).toBe(0o700); // Ray makes its temp dir (work/ray) 0777
    expect((await stat(path.join(a.dataDir, 'leases', LEASE))).mode & 0o777).toBe(0o700);
  }, 120_000);

  it('re-sends the status for a repeated assign without starting another node', async () => {
    const before = last(a);
    await a.runtime.assign({ type: 'assign', leaseId: LEASE, role: 'head', head: null, rayToken: TOKEN, resources: { gpus: 0, cpus: 1 }, expiresAt: Date.now() + 3_600_000 });
    expect(states(a)).toEqual(['starting', 'joined', 'joined']);
    expect(last(a)).toEqual(before);
  });

  it('joins a worker from a second device (another port block) to the head', async () => {
    const head = last(a).endpoint;
    if (!head?.gcsAddress || !head.dashboardUrl) throw new Error('no head endpoint');
    const t = performance.now();
    await b.runtime.assign({
      type: 'assign', leaseId: LEASE, role: 'worker', head: { gcsAddress: head.gcsAddress, dashboardUrl: head.dashboardUrl }, rayToken: TOKEN,
      resources: { gpus: 0, cpus: 1 }, expiresAt: Date.now() + 3_600_000,
    });
    console.log(`[agent] worker joined after ${((performance.now() - t) / 1000).toFixed(1)} s`);
    expect(states(b), last(b).reason ?? '').toEqual(['starting', 'joined']);
    expect(last(b).endpoint).toEqual({ nodeIp });
    const [pa, pb] = [a.runtime.get(LEASE)?.ports, b.runtime.get(LEASE)?.ports];
    if (!pa || !pb) throw new Error('no ports');
    expect(blocksOverlap(pa, pb)).toBe(false);
    const alive = await waitForNodes(head.dashboardUrl, TOKEN, 2, 30_000);
    expect(new Set(alive.map((n) => n.nodeId))).toEqual(new Set([last(a).rayNodeId, last(b).rayNodeId]));
    expect(b.runtime.usage()).toEqual([{ leaseId: LEASE, gpuSeconds: expect.any(Number) as number }]);
  }, 90_000);

  it("runs buyers' jobs sandboxed: the agent's key and env stay out of reach, hello works", async () => {
    const jobs = createJobsClient({ url: last(a).endpoint?.dashboardUrl ?? '', token: TOKEN });
    await jobs.submitJob({ entrypoint: pythonEntrypoint(`print(open(${JSON.stringify(a.keyPath)}).read())`), submissionId: 'steal-key' });
    const otherWork = await linkedWorkDir(path.join(b.dataDir, 'leases', LEASE), 'worker'); // the other device's node
    if (!otherWork) throw new Error('no work dir of the worker');
    const probe = [
      'import os',
      `print("SECRET", os.environ.get(${JSON.stringify(SECRET_ENV)}))`,
      'print("UID", os.getuid())',
      ...[a.keyPath, b.keyPath, path.join(b.dataDir, 'leases'), a.dataDir, otherWork].map(
        (p) => `print("SEES", ${JSON.stringify(p)}, os.path.exists(${JSON.stringify(p)}) and os.access(${JSON.stringify(p)}, os.R_OK))`,
      ),
      'print("hello")',
    ].join('\n');
    await jobs.submitJob({ entrypoint: pythonEntrypoint(probe), submissionId: 'hello' });
    const stolen = await jobs.waitForJob('steal-key', undefined, 90_000);
    const stealLogs = await jobs.getJobLogs('steal-key');
    expect(stolen.status, stealLogs).toBe('FAILED');
    expect(stealLogs).toMatch(/PermissionError|FileNotFoundError/);
    const hello = await jobs.waitForJob('hello', undefined, 90_000);
    const logs = await jobs.getJobLogs('hello');
    expect(hello.status, logs).toBe('SUCCEEDED');
    expect(logs).toMatch(/^hello$/m);
    expect(logs).toContain('SECRET None');
    // bwrap also hides the other node's work dir (in `user` mode only file modes protect, and it is the same user).
    const bwrap = (await a.launcher.sandbox()).mode === 'bwrap';
    expect(logs.match(/^SEES .* False$/gm)).toHaveLength(bwrap ? 5 : 4);
    expect(logs).not.toMatch(/^SEES .*(device-key|leases|device-a)\S* True$/m);
    if (process.getuid?.() === 0) expect(logs).not.toMatch(/^UID 0$/m);
  }, 120_000);

  it("serves a Ray Serve app on the head's serveUrl", async () => {
    const jobs = createJobsClient({ url: last(a).endpoint?.dashboardUrl ?? '', token: TOKEN });
    const app = [
      'from ray import serve',
      '@serve.deployment(ray_actor_options={"num_cpus": 0})',
      'def hello(request):',
      '    return "hello from serve"',
      'serve.run(hello.bind(), route_prefix="/")',
      'print("SERVE_UP", flush=True)',
    ].join('\n');
    await jobs.submitJob({ entrypoint: pythonEntrypoint(app), submissionId: 'serve' });
    const job = await jobs.waitForJob('serve', undefined, 120_000);
    expect(job.status, await jobs.getJobLogs('serve')).toBe('SUCCEEDED');
    const serveUrl = last(a).endpoint?.serveUrl ?? '';
    const answer = await rayRequest({ url: serveUrl }, { method: 'GET', path: '/' });
    expect(answer).toEqual({ status: 200, text: 'hello from serve' });
  }, 150_000);

  it('cleans up a node left by a previous agent run when the agent starts again', async () => {
    const leaseDir = path.join(b.dataDir, 'leases', LEASE);
    const work = await linkedWorkDir(leaseDir, 'worker');
    if (!work) throw new Error('no work dir');
    expect(processesMentioning(work).length).toBeGreaterThan(0);
    const t = performance.now();
    const restarted = await LeaseRuntime.create({ ...runtimeOptionsLike(b), send: () => true });
    console.log(`[agent] leftover worker cleaned up in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    expect(processesMentioning(work)).toEqual([]);
    expect(existsSync(leaseDir)).toBe(false);
    expect(existsSync(work)).toBe(false);
    expect(restarted.list()).toEqual([]);
    await restarted.stop();
  }, 60_000);

  it('release stops the head: stopped, no process left, lease dir and work dir gone', async () => {
    const leaseDir = path.join(a.dataDir, 'leases', LEASE);
    const work = await linkedWorkDir(leaseDir, 'head');
    if (!work) throw new Error('no work dir');
    const dashboardUrl = last(a).endpoint?.dashboardUrl ?? '';
    expect((await listAliveNodes(dashboardUrl, TOKEN)).length).toBeGreaterThanOrEqual(1);
    await a.runtime.release({ type: 'release', leaseId: LEASE, reason: 'cluster released' });
    expect(last(a)).toMatchObject({ state: 'stopped', leaseId: LEASE, endpoint: null, reason: 'cluster released' });
    expect(processesMentioning(work)).toEqual([]);
    expect(existsSync(leaseDir)).toBe(false);
    expect(existsSync(work)).toBe(false);
    expect(a.runtime.usage()).toEqual([]);
    // A release for a lease with nothing running still ends with `stopped`.
    await a.runtime.release({ type: 'release', leaseId: LEASE, reason: 'again' });
    expect(last(a)).toMatchObject({ state: 'stopped', reason: 'again' });
  }, 60_000);
});

describe('setupWorker', () => {
  it('ensures the venv, a private data dir and a working sandbox (the sandbox user as root)', async () => {
    const dataDir = path.join(root, 'setup-agent');
    let output = '';
    const result = await setupWorker({ ...process.env, IDLEGRID_AGENT_DATA_DIR: dataDir }, { onOutput: (s) => (output += s) });
    expect(['bwrap', 'user']).toContain(result.sandbox);
    expect(result.dataDir).toBe(dataDir);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    if (process.getuid?.() === 0) expect(result.sandboxUser?.name).toBe('idlegrid-ray');
    expect(output).toContain(`==> Sandbox ${result.sandbox}`);
  }, 120_000);
});

function runtimeOptionsLike(d: Device): Parameters<typeof LeaseRuntime.create>[0] {
  return {
    dataDir: d.dataDir, portBase: PORT_BASE, nodeIp: () => nodeIp, gpuIndices: [],
    launcher: () => Promise.reject(new Error('not used')), send: () => true, logger,
  };
}
