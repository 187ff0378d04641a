import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import pino from 'pino';
import { IdlegridError } from '@idlegrid/domain';
import { loadCloudConfig, startCloud, type RunningCloud } from '@idlegrid/cloud';
import { idlegridHome, updateHomeConfig } from '../home.ts';
import { emit, progress, type GlobalOptions } from '../output.ts';
import { waitForSignal } from '../signals.ts';
import { runDemo, type DemoResult } from './demo.ts';

interface UpOptions {
  workers: string;
  port: string;
  host: string;
  dataDir?: string;
  databaseUrl?: string;
  chain?: string;
  authority?: string;
  epochSeconds?: string;
  readyTimeout: string;
  demo?: boolean;
  settleSeconds?: string;
}

const BIN = fileURLToPath(new URL('../../bin/idlegrid.js', import.meta.url));

export function addUpCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('up')
    .description('Run a whole network on this machine: control plane + N local supplier agents, until interrupted')
    .option('--workers <n>', 'number of local agents to start', '3')
    .option('--port <port>', 'control-plane port (0 picks a free one)', '8470')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--data-dir <dir>', 'where the network keeps its database and agent keys (default $IDLEGRID_HOME/network)')
    .option('--database-url <url>', 'use PostgreSQL (postgres://…) instead of embedded SQLite')
    .option('--chain <chain>', 'settlement chain: embedded (LiteSVM in <data-dir>; default) or a Solana RPC URL (then --authority; --demo needs embedded, for its airdrop)')
    .option('--authority <file>', 'with an RPC chain: the protocol authority keypair (solana-keygen JSON, funded with SOL)')
    .option('--epoch-seconds <s>', 'reward epoch length in seconds (default 3600; e.g. 20 for a quick local network)')
    .option('--settle-seconds <s>', 'settlement interval: one batch of payouts per this many seconds (default 10 on a local network)')
    .option('--ready-timeout <s>', 'seconds to wait for the agents to come online', '60')
    .option('--demo', 'once up, book a 2-node cluster as a buyer, run a Ray job on it and release it (the network keeps running)')
    .action(async (opts: UpOptions) => {
      const g = globals();
      const workers = Number(opts.workers);
      if (!Number.isInteger(workers) || workers < 0 || workers > 64) {
        throw new IdlegridError('VALIDATION_FAILED', { where: '--workers', issues: [{ path: 'workers', message: 'expected an integer from 0 to 64' }] });
      }
      const dataDir = resolve(opts.dataDir ?? join(idlegridHome(process.env), 'network'));
      const config = loadCloudConfig(process.env, {
        port: opts.port,
        host: opts.host,
        dataDir: join(dataDir, 'cloud'),
        ...(opts.settleSeconds !== undefined ? { settleSeconds: opts.settleSeconds } : process.env['IDLEGRID_SETTLE_SECONDS'] ? {} : { settleSeconds: 10 }),
        ...(opts.epochSeconds !== undefined ? { epochSeconds: opts.epochSeconds } : {}),
        ...(opts.chain !== undefined ? { chain: opts.chain } : {}),
        ...(opts.authority !== undefined ? { authority: opts.authority } : {}),
        ...(opts.databaseUrl !== undefined ? { databaseUrl: opts.databaseUrl } : {}),
      });
      await mkdir(dataDir, { recursive: true });
      const logger = pino({ level: config.logLevel, base: { app: 'cloud' } }, pino.destination({ dest: join(dataDir, 'cloud.log'), mkdir: true, sync: false }));
      const cloud = await startCloud(config, { logger });
      const agents: ChildProcess[] = [];
      try {
        for (let i = 0; i < workers; i++) agents.push(await spawnAgent(cloud.url, dataDir, i));
        await waitForAgents(cloud, workers, Number(opts.readyTimeout), g);
      } catch (e) {
        await shutdown(cloud, agents);
        throw e;
      }
      await updateHomeConfig(process.env, (c) => ({ ...c, cloudUrl: cloud.url })).catch(() => undefined);
      const devices = [...cloud.cloud.registry.online()].map((d) => d.id);
      emit(g, { ready: true, url: cloud.url, dataDir, workers, devices, store: cloud.store.kind, agentPids: agents.map((a) => a.pid) }, () =>
        [
          `idlegrid network is up at ${cloud.url}`,
          `  ${workers} local agent(s) online; data and logs in ${dataDir}`,
          `  try: idlegrid cloud search --gpu cpu --cloud ${cloud.url}`,
          'Ctrl-C stops everything.',
        ].join('\n'),
      );
      // Ctrl-C (or SIGTERM) stops everything at any point, the demo included.
      const stopped = waitForSignal();
      if (opts.demo) {
        const demo = runDemo(cloud.url, { ...process.env, IDLEGRID_HOME: join(dataDir, 'buyer-home') }, g);
        demo.catch(() => undefined); // a demo cut short by a signal fails as the network stops
        let result: DemoResult | null;
        try {
          result = await Promise.race([demo, stopped.then(() => null)]);
        } catch (e) {
          await shutdown(cloud, agents);
          throw e;
        }
        if (result) {
          const done = result;
          emit(g, { demo: done }, () => `Demo done: cluster ${done.clusterId} was ready in ${done.deployToReadySeconds} s; job ${done.job.status}. The network keeps running (Ctrl-C stops it).`);
        }
      }
      await stopped;
      await shutdown(cloud, agents);
    });
}

async function spawnAgent(cloudUrl: string, dataDir: string, index: number): Promise<ChildProcess> {
  const dir = join(dataDir, 'agents', `agent-${index + 1}`);
  await mkdir(dir, { recursive: true });
  const log = createWriteStream(join(dir, 'agent.log'), { flags: 'a' });
  const price = (0.1 + index * 0.02).toFixed(2);
  const child = spawn(
    process.execPath,
    [BIN, 'worker', 'start', '--json', '--cloud', cloudUrl, '--data-dir', dir, '--region', 'local', '--price', price],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Local agents share one host: each gets its own Ray port range.
      env: { ...process.env, IDLEGRID_HOME: join(dir, 'home'), IDLEGRID_RAY_PORT_BASE: String(20_000 + index * 1_000) },
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function waitForAgents(cloud: RunningCloud, workers: number, timeoutSeconds: number, g: GlobalOptions): Promise<void> {
  const bar = progress(g);
  const deadline = Date.now() + timeoutSeconds * 1000;
  // A device is supply only once it passed its proof-of-GPU challenge (sent when it says hello).
  const verified = (): number => [...cloud.cloud.registry.online()].filter((d) => d.verified).length;
  while (verified() < workers) {
    if (Date.now() > deadline) {
      bar.done();
      throw new IdlegridError('INTERNAL', {
        reason: `only ${verified()} of ${workers} agents came online and passed verification within ${timeoutSeconds} s (${cloud.cloud.registry.size} online); see the agent.log files in the data dir`,
      });
    }
    bar.update(`Waiting for agents: ${cloud.cloud.registry.size}/${workers} online, ${verified()} verified`);
    await new Promise((r) => setTimeout(r, 100));
  }
  bar.done(`${workers}/${workers} agents online and verified`);
}

async function shutdown(cloud: RunningCloud, agents: ChildProcess[]): Promise<void> {
  await Promise.all(agents.map((a) => stopChild(a)));
  await cloud.close();
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolvePromise();
    });
    child.kill('SIGTERM');
  });
}
