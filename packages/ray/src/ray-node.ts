import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RayError, errorMessage } from './errors.ts';
import { assertPortsFree, type RayPorts } from './ports.ts';
import { ProcessFamily, readProcTable } from './process-family.ts';
import { readRayNodeId } from './node-id.ts';
import { hostPort, rayStartArgs } from './ray-args.ts';
import { rayNodeEnv, type HealthCheckTuning } from './ray-env.ts';
import { waitForTcp } from './tcp-wait.ts';
import { assertTempDirFits, nodeTempDir } from './temp-dir.ts';
import type { Env, RayVenv } from './venv.ts';

export interface StartRayNodeOptions {
  readonly role: 'head' | 'worker';
  readonly venv: RayVenv;
  /** The lease's Ray token (RAY_AUTH_MODE=token): ≥ 16 characters, no whitespace. */
  readonly token: string;
  readonly ports: RayPorts;
  /** Holds `<nodeName>.log` (ray start's output), `<nodeName>.pid` and, if short enough, the temp dir. */
  readonly leaseDir: string;
  /** Short name of this node within the lease dir, e.g. `head`, `w1`. */
  readonly nodeName: string;
  /** Ray replaces a loopback address with the host's primary IP; the handle reports what Ray uses. */
  readonly nodeIpAddress: string;
  /** Worker only: the head's GCS address `ip:port` (the head handle's gcsAddress). */
  readonly headAddress?: string;
  readonly numCpus: number;
  readonly numGpus?: number;
  readonly resources?: Readonly<Record<string, number>>;
  readonly objectStoreMemoryBytes?: number;
  /** Head only; default 127.0.0.1 (reach it through the authenticated proxy). */
  readonly dashboardHost?: string;
  /** Overrides the temp dir derived from leaseDir/nodeName (must be ≤ RAY_TEMP_DIR_MAX_BYTES). */
  readonly tempDir?: string;
  /** Extra environment for Ray (e.g. CUDA_VISIBLE_DEVICES); cannot override the auth variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Where PATH, HOME, LANG… are taken from (default process.env); nothing else is passed through. */
  readonly baseEnv?: Env;
  /** Command that wraps `ray`, e.g. ['bwrap', '--die-with-parent', …]: argv = [...prefix, ray, 'start', …]. */
  readonly commandPrefix?: readonly string[];
  /** Head only: GCS health checks (see DEFAULT_HEALTH_CHECK). */
  readonly healthCheck?: HealthCheckTuning;
  /** Worker only: how long the head's GCS port may refuse connections before RAY_UNREACHABLE (default 30 s; Ray itself would retry forever). */
  readonly headReachableWithinMs?: number;
  /** Until `ray start` prints "Ray runtime started" (default 120 s). */
  readonly startTimeoutMs?: number;
  /** Fail early with RAY_PORT_IN_USE (default true). */
  readonly checkPorts?: boolean;
}

export interface StopOptions {
  /** SIGTERM → SIGKILL delay (default 3000 ms; a worker leaves gracefully in ≈1.5 s, a head takes ≈15 s, which a cluster being torn down need not wait for). */
  readonly graceMs?: number;
  /** Also delete the node's temp dir (Ray's logs) after it stopped (default false). */
  readonly removeTempDir?: boolean;
}

export interface RayNodeHandle {
  readonly role: 'head' | 'worker';
  readonly nodeName: string;
  readonly pid: number;
  /** = pid: the node leads its own session and process group. */
  readonly pgid: number;
  /** Ray's node id (from the node's temp dir); undefined if Ray did not write it where expected. */
  readonly nodeId: string | undefined;
  /** The IP Ray registered the node with (from `ray start`'s output). */
  readonly nodeIp: string;
  readonly ports: RayPorts;
  readonly tempDir: string;
  readonly logFile: string;
  /** Head only: the dashboard / Jobs API base URL. */
  readonly dashboardUrl?: string;
  /** The cluster's GCS address `ip:port` (workers: the head they joined). */
  readonly gcsAddress: string;
  /** Exit code of `ray start` (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Live processes of this node now (leader, raylet, GCS, workers…). */
  processes(): Promise<number[]>;
  /** SIGTERM the node's processes, wait, SIGKILL the rest, verify none remains. Idempotent. */
  stop(options?: StopOptions): Promise<void>;
}

const ANSI = new RegExp(String.raw`\u001b\[[0-9;]*m`, 'g');
const STARTED = /Ray runtime started/;
const NODE_IP = /Local node IP\W*([0-9a-fA-F.:]+)/;

function assertToken(token: string): void {
  if (token.length < 16 || /\s/.test(token)) {
    throw new RayError('RAY_INVALID_OPTIONS', 'The Ray token must be at least 16 characters without whitespace');
  }
}

/** The log from byte `from` on (the file is appended to across restarts of a node). */
async function readLog(file: string, from: number): Promise<string> {
  const buf = await readFile(file).catch(() => Buffer.alloc(0));
  return buf.subarray(from).toString('utf8').replace(ANSI, '');
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

/** Start time (clock ticks) of a pid, to recognise it later despite pid reuse. */
async function startTicksOf(pid: number): Promise<number | undefined> {
  return (await readProcTable()).find((p) => p.pid === pid)?.startTicks;
}

/**
 * Starts one Ray node with `ray start --block` in its own session / process group and
 * resolves once `ray start` reports the runtime started (for a head: GCS and dashboard
 * processes are up; use waitForHead / waitForNodes for API-level readiness).
 */
export async function startRayNode(options: StartRayNodeOptions): Promise<RayNodeHandle> {
  assertToken(options.token);
  await mkdir(options.leaseDir, { recursive: true });
  const dashboardHost = options.dashboardHost ?? '127.0.0.1';
  const tempDir = options.tempDir ?? (await nodeTempDir(options.leaseDir, options.nodeName)).tempDir;
  assertTempDirFits(tempDir);
  const args = rayStartArgs({
    role: options.role,
    ports: options.ports,
    tempDir,
    nodeIpAddress: options.nodeIpAddress,
    headAddress: options.headAddress,
    numCpus: options.numCpus,
    numGpus: options.numGpus ?? 0,
    resources: options.resources,
    objectStoreMemoryBytes: options.objectStoreMemoryBytes,
    dashboardHost,
  });
  if (options.checkPorts !== false) await assertPortsFree(options.ports);
  if (options.role === 'worker' && options.headAddress !== undefined) await waitForTcp(options.headAddress, options.headReachableWithinMs ?? 30_000);
  const env = rayNodeEnv({
    venv: options.venv,
    token: options.token,
    role: options.role,
    baseEnv: options.baseEnv ?? process.env,
    extraEnv: options.env,
    healthCheck: options.healthCheck,
  });
  const logFile = path.join(path.resolve(options.leaseDir), `${options.nodeName}.log`);
  const pidFile = path.join(path.resolve(options.leaseDir), `${options.nodeName}.pid`);
  const argv = [...(options.commandPrefix ?? []), options.venv.ray, ...args];
  const [command, ...rest] = argv;
  if (command === undefined) throw new RayError('RAY_INVALID_OPTIONS', 'Empty command');

  const logStart = (await stat(logFile).catch(() => undefined))?.size ?? 0;
  const logFd = openSync(logFile, 'a', 0o600);
  writeSync(logFd, `=== idlegrid ${new Date().toISOString()}: ${argv.join(' ')}\n`);
  let spawnError: Error | undefined;
  let exitCode: number | null | undefined;
  const child = (() => {
    try {
      return spawn(command, rest, { detached: true, stdio: ['ignore', logFd, logFd], env, cwd: tempDir });
    } finally {
      closeSync(logFd);
    }
  })();
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (e) => {
      spawnError = e;
      exitCode = null;
      resolve(null);
    });
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
  });
  const pid = child.pid;
  if (pid === undefined) {
    await exited;
    throw new RayError('RAY_START_FAILED', `Cannot run ${command}: ${errorMessage(spawnError)}`, { command });
  }
  const family = new ProcessFamily(pid);
  let stopping: Promise<void> | undefined;
  const stop = (stopOptions: StopOptions = {}): Promise<void> => {
    stopping ??= (async () => {
      await family.terminate(stopOptions.graceMs ?? 3_000);
      await Promise.race([exited, sleep(5_000)]);
      await rm(pidFile, { force: true });
      if (stopOptions.removeTempDir === true) await rm(tempDir, { recursive: true, force: true });
    })().catch((e: unknown) => {
      stopping = undefined; // let a later stop() try again
      throw e;
    });
    return stopping;
  };

  try {
    await writeFile(pidFile, JSON.stringify({ pid, startTicks: await startTicksOf(pid), tempDir }) + '\n', { mode: 0o600 });
  } catch (e) {
    await stop({ graceMs: 0 });
    throw new RayError('RAY_START_FAILED', `Cannot write ${pidFile}: ${errorMessage(e)}`, { pidFile });
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  let log = '';
  for (;;) {
    log = await readLog(logFile, logStart);
    if (STARTED.test(log)) break;
    if (exitCode !== undefined) {
      await stop({ graceMs: 0 });
      const why = spawnError ? errorMessage(spawnError) : `exit ${String(exitCode)}`;
      throw new RayError('RAY_START_FAILED', `ray start (${options.role} ${options.nodeName}) failed (${why}); see ${logFile}:\n${lastLines(log, 15)}`, {
        exitCode,
        logFile,
      });
    }
    if (Date.now() > deadline) {
      await stop({ graceMs: 0 });
      throw new RayError('RAY_START_TIMEOUT', `ray start (${options.role} ${options.nodeName}) not started within ${options.startTimeoutMs ?? 120_000} ms; see ${logFile}`, {
        logFile,
      });
    }
    await sleep(200);
  }

  const nodeIp = NODE_IP.exec(log)?.[1] ?? options.nodeIpAddress;
  const nodeId = await readRayNodeId(tempDir);
  const gcsAddress = options.role === 'head' ? hostPort(nodeIp, options.ports.gcs) : (options.headAddress ?? '');
  const dashboardReachable = dashboardHost === '0.0.0.0' || dashboardHost === '::' ? '127.0.0.1' : dashboardHost;
  return {
    role: options.role,
    nodeName: options.nodeName,
    pid,
    pgid: pid,
    nodeId,
    nodeIp,
    ports: options.ports,
    tempDir,
    logFile,
    ...(options.role === 'head' ? { dashboardUrl: `http://${hostPort(dashboardReachable, options.ports.dashboard)}` } : {}),
    gcsAddress,
    exited,
    processes: async () => (await family.members()).map((p) => p.pid),
    stop,
  };
}

/**
 * Stops a node left behind by a previous agent process, from its `<nodeName>.pid` file in
 * the lease dir; only if that pid still is the same process (same start time). Returns
 * whether something was stopped.
 */
export async function stopStaleRayNode(leaseDir: string, nodeName: string, graceMs = 2_000): Promise<boolean> {
  const pidFile = path.join(path.resolve(leaseDir), `${nodeName}.pid`);
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  let stopped = false;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'pid' in parsed && typeof parsed.pid === 'number') {
      const recorded = 'startTicks' in parsed ? parsed.startTicks : undefined;
      const now = await startTicksOf(parsed.pid);
      if (now !== undefined && now === recorded) {
        await new ProcessFamily(parsed.pid).terminate(graceMs);
        stopped = true;
      }
    }
  } catch (e) {
    if (e instanceof RayError) throw e;
  }
  await rm(pidFile, { force: true });
  return stopped;
}
