import { RayError } from './errors.ts';
import type { RayPorts } from './ports.ts';

export interface RayStartArgsOptions {
  readonly role: 'head' | 'worker';
  readonly ports: RayPorts;
  readonly tempDir: string;
  readonly nodeIpAddress: string;
  /** Worker only: the head's GCS address `ip:port`. */
  readonly headAddress?: string;
  readonly numCpus: number;
  readonly numGpus: number;
  readonly resources?: Readonly<Record<string, number>>;
  readonly objectStoreMemoryBytes?: number;
  /** Head only: where the dashboard (and Jobs API) listens. */
  readonly dashboardHost: string;
}

function assertCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RayError('RAY_INVALID_OPTIONS', `${name} must be a non-negative integer (got ${v})`, { [name]: v });
}

/** `ray start --block …` arguments for Ray 2.60 (checked against `ray start --help`). */
export function rayStartArgs(o: RayStartArgsOptions): string[] {
  assertCount('numCpus', o.numCpus);
  assertCount('numGpus', o.numGpus);
  const p = o.ports;
  const args = ['start', '--block', '--disable-usage-stats', '--log-style', 'record', '--log-color', 'false'];
  if (o.role === 'head') {
    if (o.headAddress !== undefined) throw new RayError('RAY_INVALID_OPTIONS', 'A head takes no headAddress');
    args.push(
      '--head',
      '--port', String(p.gcs),
      '--dashboard-host', o.dashboardHost,
      '--dashboard-port', String(p.dashboard),
      '--ray-client-server-port', String(p.rayClientServer),
    );
  } else {
    if (o.headAddress === undefined || !/^[\w.:[\]-]+:\d+$/.test(o.headAddress)) {
      throw new RayError('RAY_INVALID_OPTIONS', `A worker needs headAddress host:port (got ${String(o.headAddress)})`);
    }
    args.push('--address', o.headAddress);
  }
  args.push(
    '--node-ip-address', o.nodeIpAddress,
    '--dashboard-agent-listen-port', String(p.dashboardAgentListen),
    '--dashboard-agent-grpc-port', String(p.dashboardAgentGrpc),
    '--metrics-export-port', String(p.metricsExport),
    '--runtime-env-agent-port', String(p.runtimeEnvAgent),
    '--node-manager-port', String(p.nodeManager),
    '--object-manager-port', String(p.objectManager),
    '--min-worker-port', String(p.minWorker),
    '--max-worker-port', String(p.maxWorker),
    '--num-cpus', String(o.numCpus),
    '--num-gpus', String(o.numGpus),
    '--temp-dir', o.tempDir,
  );
  if (o.resources !== undefined && Object.keys(o.resources).length > 0) {
    for (const [k, v] of Object.entries(o.resources)) {
      if (!Number.isFinite(v) || v < 0) throw new RayError('RAY_INVALID_OPTIONS', `Resource ${k} must be a non-negative number`, { [k]: v });
    }
    args.push('--resources', JSON.stringify(o.resources));
  }
  if (o.objectStoreMemoryBytes !== undefined) {
    assertCount('objectStoreMemoryBytes', o.objectStoreMemoryBytes);
    args.push('--object-store-memory', String(o.objectStoreMemoryBytes));
  }
  return args;
}

/** `host:port`, bracketing IPv6 hosts. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
