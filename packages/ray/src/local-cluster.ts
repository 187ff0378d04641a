import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { portBlocks } from './ports.ts';
import { startRayNode, type RayNodeHandle, type StartRayNodeOptions } from './ray-node.ts';
import { waitForHead, waitForNodes, type RayNodeInfo } from './nodes-api.ts';
import type { RayVenv } from './venv.ts';

export interface LocalClusterOptions {
  readonly venv: RayVenv;
  /** Lease dir holding every node's log, pid file and temp dir (keep it short, e.g. /tmp/igr-XXXX). */
  readonly leaseDir: string;
  /** First port; node i uses the block at basePort + i × PORT_BLOCK_SIZE. */
  readonly basePort: number;
  readonly workers: number;
  readonly token?: string;
  readonly nodeIpAddress?: string;
  readonly numCpus?: number;
  /** Per node; small values keep several nodes on one host light (default: Ray's 30 % of RAM). */
  readonly objectStoreMemoryBytes?: number;
  readonly timeoutMs?: number;
  readonly extra?: Partial<Pick<StartRayNodeOptions, 'healthCheck' | 'env' | 'commandPrefix'>>;
}

export interface LocalCluster {
  readonly token: string;
  readonly head: RayNodeHandle;
  readonly workers: RayNodeHandle[];
  readonly dashboardUrl: string;
  readonly alive: RayNodeInfo[];
  /** Seconds: head `ray start` done, head API ready, all nodes alive (from the start call). */
  readonly timings: { headStartedS: number; headReadyS: number; allAliveS: number };
  /** Stops the workers (in parallel), then the head; tries every node before throwing. */
  stop(): Promise<void>;
}

/**
 * Head + N workers on one host, each with its own port block and temp dir: what a lease
 * looks like when several of its slots sit on one machine, and what tests and benchmarks use.
 * Workers start in parallel once the head's `ray start` returned.
 */
export async function startLocalCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  const token = o.token ?? randomBytes(24).toString('hex');
  const [headPorts, ...workerPorts] = portBlocks(o.basePort, o.workers + 1);
  if (headPorts === undefined) throw new Error('unreachable: portBlocks returned no block');
  const timeoutMs = o.timeoutMs ?? 120_000;
  const common = {
    venv: o.venv,
    token,
    leaseDir: o.leaseDir,
    nodeIpAddress: o.nodeIpAddress ?? '127.0.0.1',
    numCpus: o.numCpus ?? 1,
    objectStoreMemoryBytes: o.objectStoreMemoryBytes,
    startTimeoutMs: timeoutMs,
    ...o.extra,
  };
  const started: RayNodeHandle[] = [];
  const stopAll = async (): Promise<void> => {
    const workers = started.filter((h) => h.role === 'worker');
    const results = await Promise.allSettled(workers.map((h) => h.stop()));
    results.push(...(await Promise.allSettled(started.filter((h) => h.role === 'head').map((h) => h.stop()))));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  let workerStarts: Array<Promise<RayNodeHandle>> = [];
  const t0 = performance.now();
  const since = (): number => (performance.now() - t0) / 1000;
  try {
    const head = await startRayNode({ ...common, role: 'head', nodeName: 'head', ports: headPorts });
    started.push(head);
    const headStartedS = since();
    const dashboardUrl = head.dashboardUrl ?? '';
    workerStarts = workerPorts.map((ports, i) =>
      startRayNode({ ...common, role: 'worker', nodeName: `w${i + 1}`, ports, headAddress: head.gcsAddress }).then((h) => {
        started.push(h);
        return h;
      }),
    );
    await waitForHead(dashboardUrl, token, timeoutMs);
    const headReadyS = since();
    const settled = await Promise.allSettled(workerStarts);
    const workers: RayNodeHandle[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason;
      workers.push(s.value);
    }
    const alive = await waitForNodes(dashboardUrl, token, o.workers + 1, timeoutMs);
    return { token, head, workers, dashboardUrl, alive, timings: { headStartedS, headReadyS, allAliveS: since() }, stop: stopAll };
  } catch (e) {
    await Promise.allSettled(workerStarts); // a worker still starting must not escape the cleanup
    await stopAll().catch(() => undefined);
    throw e;
  }
}
