import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { toDeviceId, type DeviceId } from '@idlegrid/domain';
import { readKeypairFile, type DeviceView } from '@idlegrid/protocol';
import { CLI } from '../e2e/cli-process.ts';

/**
 * The chaos network: one `idlegrid cloud serve` process on a fixed port and data dir and N
 * `idlegrid worker start` processes (real Ray, cpu class), each of which can be SIGKILLed and
 * started again on the same data dir (the control plane) or with the same key (an agent).
 */

export const SETTLE_SECONDS = 2;
export const EPOCH_SECONDS = 15;
export const HEARTBEAT_SECONDS = 5;
export const USAGE_SLACK_SECONDS = 15;

export interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
}

export function launch(args: string[], env: NodeJS.ProcessEnv, logFile: string): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited };
}

export async function kill(p: Proc, signal: NodeJS.Signals, waitMs = 20_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), waitMs);
  await p.exited;
  clearTimeout(timer);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `count` devices are online and verified (supply) as the control plane at `url` sees them. */
export async function waitForVerifiedDevices(url: string, count: number, root: string, timeoutMs = 120_000): Promise<DeviceView[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/v1/devices?status=online&limit=100`);
      if (res.ok) {
        const { devices } = (await res.json()) as { devices: DeviceView[] };
        const ready = devices.filter((d) => d.status === 'online' && d.verified);
        if (ready.length >= count) return ready;
      }
    } catch {
      // the control plane may be restarting
    }
    if (Date.now() > deadline) throw new Error(`fewer than ${count} agents online and verified within ${timeoutMs / 1000} s; see the agent.log files under ${root}`);
    await sleep(500);
  }
}

/**
 * The chaos network's agents: `idlegrid worker start` processes (real Ray, cpu class), each with
 * its key in its own data dir, so that a SIGKILLed agent comes back as the same device.
 */
export class ChaosAgents {
  private readonly procs: Array<Proc | null>;

  constructor(
    readonly root: string,
    readonly count: number,
    /** The --cloud value of agent i (one URL, or several replicas). */
    private readonly cloudFor: (i: number) => string,
    /** First Ray port of agent 0; each agent gets its own block of 1,000. */
    private readonly rayPortBase: number,
  ) {
    this.procs = Array.from({ length: count }, () => null);
  }

  dir(i: number): string {
    return join(this.root, 'agents', `agent-${i + 1}`);
  }

  /** Starts (or restarts) agent i with its key in its data dir (the same device). */
  async start(i: number): Promise<void> {
    const dir = this.dir(i);
    await mkdir(dir, { recursive: true });
    const env = {
      ...process.env, LOG_LEVEL: process.env['IDLEGRID_CHAOS_LOG_LEVEL'] ?? 'info', IDLEGRID_HOME: join(dir, 'home'),
      IDLEGRID_RAY_PORT_BASE: String(this.rayPortBase + i * 1_000),
    };
    const price = (0.1 + i * 0.02).toFixed(2);
    this.procs[i] = launch(['worker', 'start', '--json', '--cloud', this.cloudFor(i), '--data-dir', dir, '--region', 'local', '--price', price], env, join(dir, 'agent.log'));
  }

  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs[i];
    if (p) await kill(p, signal);
    this.procs[i] = null;
  }

  /** The device id of agent i (its key in its data dir). */
  async deviceOf(i: number): Promise<DeviceId> {
    return toDeviceId((await readKeypairFile(join(this.dir(i), 'device-key.json'))).address);
  }

  /** SIGKILLs agent i, records the kill (billing bounds are checked against it), restarts it after up to 3 s. */
  async killAndRestart(i: number, random: () => number, kills: Array<{ deviceId: DeviceId; atMs: number }>): Promise<void> {
    const deviceId = await this.deviceOf(i);
    await this.kill(i, 'SIGKILL');
    kills.push({ deviceId, atMs: Date.now() });
    await sleep(Math.floor(random() * 3_000));
    await this.start(i);
  }

  /** Stops every agent gracefully (agents stop their Ray nodes on SIGTERM). */
  async stopAll(): Promise<void> {
    await Promise.all(this.procs.map((_, i) => this.kill(i, 'SIGTERM')));
  }
}

export class ChaosNetwork {
  readonly url: string;
  readonly cloudDir: string;
  readonly agents: ChaosAgents;
  private cloud: Proc | null = null;

  constructor(
    readonly root: string,
    readonly port: number,
    readonly agentCount: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.cloudDir = join(root, 'cloud');
    this.agents = new ChaosAgents(root, agentCount, () => this.url, 21_000);
  }

  private baseEnv(): NodeJS.ProcessEnv {
    return { ...process.env, LOG_LEVEL: process.env['IDLEGRID_CHAOS_LOG_LEVEL'] ?? 'info' };
  }
  /** Starts (or restarts) the control plane on the same port and data dir; resolves when it answers. */
  async startCloud(): Promise<void> {
    await mkdir(this.cloudDir, { recursive: true });
    const env = {
      ...this.baseEnv(),
      IDLEGRID_SETTLE_SECONDS: String(SETTLE_SECONDS),
      IDLEGRID_EPOCH_SECONDS: String(EPOCH_SECONDS),
      IDLEGRID_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
      IDLEGRID_USAGE_SLACK_SECONDS: String(USAGE_SLACK_SECONDS),
      IDLEGRID_NODE_LOSS_SECONDS: '10',
    };
    this.cloud = launch(['cloud', 'serve', '--json', '--port', String(this.port), '--data-dir', this.cloudDir], env, join(this.root, 'cloud.log'));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.cloud.child.exitCode !== null) throw new Error(`the control plane exited with ${this.cloud.child.exitCode}; see ${join(this.root, 'cloud.log')}`);
      try {
        const res = await fetch(`${this.url}/v1/explorer/token`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('the control plane did not answer within 60 s');
      await sleep(200);
    }
  }

  async killCloud(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.cloud) await kill(this.cloud, signal);
    this.cloud = null;
  }

  /** Stops everything gracefully (agents stop their Ray nodes on SIGTERM). */
  async stop(): Promise<void> {
    await this.agents.stopAll();
    await this.killCloud('SIGTERM');
  }

  /** Waits until `count` devices are online and verified (supply). */
  waitForAgents(count: number, timeoutMs = 120_000): Promise<DeviceView[]> {
    return waitForVerifiedDevices(this.url, count, this.root, timeoutMs);
  }
}
