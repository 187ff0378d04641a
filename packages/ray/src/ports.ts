import net from 'node:net';
import { RayError } from './errors.ts';

/**
 * Every port one Ray node uses, from one contiguous block [base, base + size).
 * Offsets: 0 GCS (head `--port`), 1 dashboard, 2 Ray client server, 3 dashboard agent
 * HTTP, 4 dashboard agent gRPC, 5 metrics export, 6 runtime-env agent, 7 node manager
 * (raylet), 8 object manager, 9 Ray Serve HTTP (reserved for the head's Serve ingress),
 * 10–19 reserved, 20…size-1 worker processes (`--min/max-worker-port`).
 * Flat numbers only, so it fits the agent protocol's `ports` record as is.
 */
export interface RayPorts {
  readonly base: number;
  readonly size: number;
  readonly gcs: number;
  readonly dashboard: number;
  readonly rayClientServer: number;
  readonly dashboardAgentListen: number;
  readonly dashboardAgentGrpc: number;
  readonly metricsExport: number;
  readonly runtimeEnvAgent: number;
  readonly nodeManager: number;
  readonly objectManager: number;
  readonly serveHttp: number;
  readonly minWorker: number;
  readonly maxWorker: number;
}

export const PORT_BLOCK_SIZE = 200;
export const FIRST_WORKER_PORT_OFFSET = 20;
const MIN_BLOCK_SIZE = FIRST_WORKER_PORT_OFFSET + 16;

/** The port block of one node starting at `base` (see RayPorts for the layout). */
export function portBlock(base: number, size: number = PORT_BLOCK_SIZE): RayPorts {
  if (!Number.isInteger(base) || !Number.isInteger(size)) {
    throw new RayError('RAY_INVALID_OPTIONS', `Port block base and size must be integers (got ${base}, ${size})`, { base, size });
  }
  if (size < MIN_BLOCK_SIZE) {
    throw new RayError('RAY_INVALID_OPTIONS', `A port block needs at least ${MIN_BLOCK_SIZE} ports (got ${size})`, { base, size });
  }
  if (base < 1024 || base + size - 1 > 65_535) {
    throw new RayError('RAY_INVALID_OPTIONS', `Port block ${base}–${base + size - 1} is outside 1024–65535`, { base, size });
  }
  return {
    base,
    size,
    gcs: base,
    dashboard: base + 1,
    rayClientServer: base + 2,
    dashboardAgentListen: base + 3,
    dashboardAgentGrpc: base + 4,
    metricsExport: base + 5,
    runtimeEnvAgent: base + 6,
    nodeManager: base + 7,
    objectManager: base + 8,
    serveHttp: base + 9,
    minWorker: base + FIRST_WORKER_PORT_OFFSET,
    maxWorker: base + size - 1,
  };
}

/** `count` adjacent, non-overlapping blocks from `start`: one per node sharing a host. */
export function portBlocks(start: number, count: number, size: number = PORT_BLOCK_SIZE): RayPorts[] {
  return Array.from({ length: count }, (_, i) => portBlock(start + i * size, size));
}

/** The fixed (non-worker) ports of a block; the ones a node binds at start. */
export function fixedPorts(ports: RayPorts): number[] {
  return [
    ports.gcs,
    ports.dashboard,
    ports.rayClientServer,
    ports.dashboardAgentListen,
    ports.dashboardAgentGrpc,
    ports.metricsExport,
    ports.runtimeEnvAgent,
    ports.nodeManager,
    ports.objectManager,
  ];
}

export function blocksOverlap(a: RayPorts, b: RayPorts): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Fails early with RAY_PORT_IN_USE when a fixed port of the block is taken (Ray's own
 * error for that is late and cryptic). Racy by nature: a check, not a reservation.
 */
export async function assertPortsFree(ports: RayPorts, host = '0.0.0.0'): Promise<void> {
  const candidates = fixedPorts(ports);
  const results = await Promise.all(candidates.map((p) => canListen(p, host)));
  const busy = candidates.filter((_, i) => results[i] !== true);
  if (busy.length > 0) {
    throw new RayError('RAY_PORT_IN_USE', `Port(s) ${busy.join(', ')} of the Ray port block at ${ports.base} are in use`, { busy, base: ports.base });
  }
}

/**
 * The first base among `bases` whose `count` blocks have every fixed port free right now (a check,
 * not a reservation). For tests and local networks that must not collide with other Ray nodes or
 * with ephemeral ports the kernel handed out (32768–60999 on Linux: keep bases below that).
 */
export async function firstFreePortBase(bases: readonly number[], count: number, size: number = PORT_BLOCK_SIZE): Promise<number> {
  for (const base of bases) {
    const blocks = portBlocks(base, count, size);
    const free = await Promise.all(blocks.map((b) => assertPortsFree(b).then(() => true, () => false)));
    if (free.every(Boolean)) return base;
  }
  throw new RayError('RAY_PORT_IN_USE', `No free block of ${count}×${size} ports at ${bases.join(', ')}`, { busy: [], base: bases[0] ?? 0 });
}
