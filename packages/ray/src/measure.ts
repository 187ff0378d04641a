import { mkdtemp, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { startLocalCluster } from './local-cluster.ts';
import { resolveRayVenv, type Env, type RayVenv } from './venv.ts';

export interface BareStartOptions {
  readonly venv?: RayVenv;
  /** For resolveRayVenv when no venv is given (default process.env). */
  readonly env?: Env;
  readonly basePort?: number;
  readonly workers?: number;
  readonly objectStoreMemoryBytes?: number;
}

export interface BareStartMeasurement {
  readonly nodes: number;
  /** From the first `ray start` until the head's `ray start` returned. */
  readonly headStartedS: number;
  /** … until the dashboard answered and listed the head alive. */
  readonly headReadyS: number;
  /** … until Ray's API lists every node alive: the bare Ray start time of a cluster. */
  readonly allAliveS: number;
  /** Stopping every node (process groups gone). */
  readonly stopS: number;
}

/**
 * Starts a head + `workers` (default 2) bare Ray nodes on this host (1 CPU each, distinct
 * port blocks and temp dirs), measures until all are alive, stops them and cleans up.
 */
export async function measureBareRayStart(options: BareStartOptions = {}): Promise<BareStartMeasurement> {
  const venv = options.venv ?? resolveRayVenv(options.env ?? process.env);
  const leaseDir = await mkdtemp('/tmp/igr-m-');
  const workers = options.workers ?? 2;
  try {
    const cluster = await startLocalCluster({
      venv,
      leaseDir,
      basePort: options.basePort ?? 31_000,
      workers,
      objectStoreMemoryBytes: options.objectStoreMemoryBytes ?? 100 * 1024 * 1024,
    });
    const t = performance.now();
    await cluster.stop();
    return { nodes: workers + 1, ...cluster.timings, stopS: (performance.now() - t) / 1000 };
  } finally {
    await rm(leaseDir, { recursive: true, force: true });
  }
}
