import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { RayEndpoint } from '@idlegrid/protocol';
import { PORT_BLOCK_SIZE, type RayPorts } from '@idlegrid/ray';
import type { HandledServerMessage, OutgoingAgentMessage, ServerMessageHandlers } from '../handlers.ts';
import { KeyedQueue } from './keyed-queue.ts';
import type { LaunchedNode, NodeLauncher } from './ray-launcher.ts';
import { choosePortBlock, claimPortBlockFile, portsFreeOnHost, type ClaimPortBlock, type PortBlockLease } from './port-blocks.ts';
import { cleanUpLeftovers, linkedWorkDir, removeWorkDir } from './work-dir.ts';

type AssignMessage = HandledServerMessage<'assign'>;
type ReleaseMessage = HandledServerMessage<'release'>;
type LeaseId = AssignMessage['leaseId'];
export type LeaseNodeState = 'starting' | 'joined' | 'failed' | 'stopped';

/** Per-lease GPU-seconds for heartbeats. */
export interface LeaseUsage {
  leaseId: LeaseId;
  gpuSeconds: number;
}

/** One lease's node on this device, as the runtime tracks it. */
export interface LeaseView {
  readonly leaseId: LeaseId;
  readonly role: 'head' | 'worker';
  readonly state: LeaseNodeState;
  readonly rayNodeId: string | null;
  readonly endpoint: RayEndpoint | null;
  readonly reason: string | null;
  readonly ports: RayPorts | null;
  readonly gpuIndices: readonly number[];
  readonly leaseDir: string;
}

export interface LeaseRuntimeOptions {
  /** The agent's data dir: lease dirs are `<dataDir>/leases/<leaseId>`. */
  readonly dataDir: string;
  /** First port of the port blocks (config rayPortBase). */
  readonly portBase: number;
  readonly portBlockSize?: number;
  /** The IP Ray nodes use (config nodeIp, else the local address of the cloud connection); null: not known yet. */
  readonly nodeIp: () => string | null;
  /** Host GPU indices this device offers (of the offered model); leases get the first free ones. */
  readonly gpuIndices: readonly number[];
  readonly launcher: NodeLauncher;
  /** The session's signed send (false when offline: the status is re-sent by announce() on reconnect). */
  readonly send: (message: OutgoingAgentMessage) => boolean;
  readonly logger: Logger;
  /** ms clock for GPU-seconds. Default Date.now. */
  readonly now?: () => number;
  /** Whether a block's fixed ports are free on the host. Default: try to bind them. */
  readonly portsFree?: (ports: RayPorts) => Promise<boolean>;
  /** Host-wide claim of a block among agents. Default: claim files in the temp dir; null: none. */
  readonly claimPortBlock?: ClaimPortBlock | null;
}

interface LeaseSpec {
  readonly role: 'head' | 'worker';
  readonly headGcsAddress: string | null;
  readonly token: string;
  readonly gpus: number;
  readonly cpus: number;
}

interface Entry {
  readonly leaseId: LeaseId;
  readonly spec: LeaseSpec;
  readonly leaseDir: string;
  state: LeaseNodeState;
  node: LaunchedNode | null;
  portBlock: PortBlockLease | null;
  gpuIndices: number[];
  rayNodeId: string | null;
  endpoint: RayEndpoint | null;
  reason: string | null;
  joinedAtMs: number | null;
}

const REASON_MAX = 1000;

/** Fits a reason into the protocol's 1000 characters, keeping its start (what failed) and end (Ray's last words). */
export function clip(text: string, max = REASON_MAX): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.3);
  return `${text.slice(0, head)}…${text.slice(text.length - (max - head - 1))}`;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sameSpec(a: LeaseSpec, b: LeaseSpec): boolean {
  return a.role === b.role && a.headGcsAddress === b.headGcsAddress && a.token === b.token && a.gpus === b.gpus && a.cpus === b.cpus;
}

/** Slots a node bills: its GPUs, or its CPUs for the cpu class. */
function slotsOf(spec: LeaseSpec): number {
  return spec.gpus > 0 ? spec.gpus : spec.cpus;
}

/**
 * Runs this device's Ray node of each lease: `assign` starts it (stopping an older node
 * of the lease first), `release` stops it. Operations on one lease run strictly in the
 * order they arrived; leases are independent. Every step is reported as `lease-status`.
 */
export class LeaseRuntime {
  private readonly entries = new Map<LeaseId, Entry>();
  private readonly queue = new KeyedQueue<LeaseId>();
  /** Port blocks are chosen one lease at a time, so concurrent starts never see the same block as unused. */
  private readonly portChoice = new KeyedQueue<'ports'>();
  /** GPU-seconds of finished runs, per lease, for the cumulative heartbeat figure. */
  private readonly billedSeconds = new Map<LeaseId, number>();
  private readonly now: () => number;
  private readonly claim: ClaimPortBlock | null;
  private closed = false;

  private constructor(private readonly options: LeaseRuntimeOptions) {
    this.now = options.now ?? Date.now;
    this.claim = options.claimPortBlock === undefined ? claimPortBlockFile() : options.claimPortBlock;
  }

  /**
   * Cleans up what a previous agent run left (Ray nodes still running, lease dirs) and
   * returns a runtime ready for commands.
   */
  static async create(options: LeaseRuntimeOptions): Promise<LeaseRuntime> {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    await chmod(options.dataDir, 0o700);
    const cleaned = await cleanUpLeftovers(path.join(options.dataDir, 'leases'), options.logger);
    if (cleaned.length > 0) options.logger.info({ leases: cleaned }, 'cleaned up lease dirs of a previous agent run');
    return new LeaseRuntime(options);
  }

  get leasesDir(): string {
    return path.join(this.options.dataDir, 'leases');
  }

  /** The `assign` / `release` handlers for the agent's handler map. */
  handlers(): Pick<ServerMessageHandlers, 'assign' | 'release'> {
    return { assign: (m) => this.assign(m), release: (m) => this.release(m) };
  }

  /** Starts (or confirms) this device's node of a lease; resolves when it is joined or failed. */
  assign(m: AssignMessage): Promise<void> {
    const spec: LeaseSpec = {
      role: m.role, headGcsAddress: m.head?.gcsAddress ?? null, token: m.rayToken, gpus: m.resources.gpus, cpus: m.resources.cpus,
    };
    return this.queue.run(m.leaseId, async () => {
      const current = this.entries.get(m.leaseId);
      if (current && (current.state === 'joined' || current.state === 'starting') && sameSpec(current.spec, spec)) {
        this.options.logger.debug({ leaseId: m.leaseId }, 'assign repeated; re-sending the status');
        this.report(current);
        return;
      }
      if (current) await this.stopEntry(current);
      if (this.closed) return;
      await this.start(m.leaseId, spec);
    });
  }

  /** Stops the lease's node (if any), removes its lease dir and reports `stopped`. */
  release(m: ReleaseMessage): Promise<void> {
    return this.queue.run(m.leaseId, async () => {
      const current = this.entries.get(m.leaseId);
      let problem: string | null = null;
      if (current) {
        try {
          await this.stopEntry(current);
        } catch (e) {
          problem = messageOf(e);
          this.options.logger.error({ err: e, leaseId: m.leaseId }, 'could not stop every Ray process of the lease');
        }
        this.entries.delete(m.leaseId);
      }
      await this.removeLeaseDir(m.leaseId);
      this.sendStatus({
        leaseId: m.leaseId, state: 'stopped', rayNodeId: current?.rayNodeId ?? null, endpoint: null,
        reason: clip(problem ? `${m.reason}; ${problem}` : m.reason),
      });
      this.options.logger.info({ leaseId: m.leaseId, reason: m.reason }, 'lease released');
    });
  }

  /** Cumulative GPU-seconds (CPU slots for the cpu class) of every lease with a joined node. */
  usage(): LeaseUsage[] {
    const now = this.now();
    const out: LeaseUsage[] = [];
    for (const e of this.entries.values()) {
      if (e.state !== 'joined' || e.joinedAtMs === null) continue;
      const running = (slotsOf(e.spec) * Math.max(0, now - e.joinedAtMs)) / 1000;
      out.push({ leaseId: e.leaseId, gpuSeconds: Math.round(((this.billedSeconds.get(e.leaseId) ?? 0) + running) * 1000) / 1000 });
    }
    return out.slice(0, 64);
  }

  /** Re-sends every lease's current status (after a reconnect: statuses sent while offline were dropped). */
  announce(): void {
    for (const e of this.entries.values()) this.report(e);
  }

  get(leaseId: LeaseId): LeaseView | undefined {
    const e = this.entries.get(leaseId);
    return e ? this.view(e) : undefined;
  }

  list(): LeaseView[] {
    return [...this.entries.values()].map((e) => this.view(e));
  }

  /** Resolves once every queued operation has finished (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /**
   * Stops every node (reporting `stopped` where online) and refuses further assigns.
   * Resolves once no Ray process of this runtime is left.
   */
  async stop(): Promise<void> {
    this.closed = true;
    const leases = new Set([...this.entries.keys(), ...this.queue.busyKeys]);
    await Promise.all(
      [...leases].map((leaseId) =>
        this.queue.run(leaseId, async () => {
          const e = this.entries.get(leaseId);
          if (!e) return;
          try {
            await this.stopEntry(e);
          } catch (err) {
            this.options.logger.error({ err, leaseId }, 'could not stop every Ray process of the lease');
          }
          this.entries.delete(leaseId);
          await this.removeLeaseDir(leaseId);
          this.sendStatus({ leaseId, state: 'stopped', rayNodeId: e.rayNodeId, endpoint: null, reason: 'the agent is stopping' });
        }),
      ),
    );
    await this.queue.idle();
  }

  private view(e: Entry): LeaseView {
    return {
      leaseId: e.leaseId, role: e.spec.role, state: e.state, rayNodeId: e.rayNodeId, endpoint: e.endpoint, reason: e.reason,
      ports: e.portBlock?.ports ?? null, gpuIndices: e.gpuIndices, leaseDir: e.leaseDir,
    };
  }

  private async start(leaseId: LeaseId, spec: LeaseSpec): Promise<void> {
    const entry: Entry = {
      leaseId, spec, leaseDir: path.join(this.leasesDir, leaseId), state: 'starting', node: null, portBlock: null, gpuIndices: [],
      rayNodeId: null, endpoint: null, reason: null, joinedAtMs: null,
    };
    this.entries.set(leaseId, entry);
    this.report(entry);
    const startedAt = this.now();
    try {
      const nodeIp = this.options.nodeIp();
      if (nodeIp === null) throw new Error('the agent does not know its IP address yet (set IDLEGRID_NODE_IP)');
      entry.gpuIndices = this.allocateGpus(spec.gpus);
      const portBlock = await this.portChoice.run('ports', async () => {
        entry.portBlock = await choosePortBlock({
          base: this.options.portBase,
          size: this.options.portBlockSize ?? PORT_BLOCK_SIZE,
          inUse: new Set([...this.entries.values()].flatMap((e) => (e.portBlock ? [e.portBlock.ports.base] : []))),
          isFree: this.options.portsFree ?? portsFreeOnHost,
          ...(this.claim ? { claim: this.claim } : {}),
        });
        return entry.portBlock;
      });
      await mkdir(entry.leaseDir, { recursive: true, mode: 0o700 });
      await mkdir(this.leasesDir, { recursive: true, mode: 0o700 });
      const node = await this.options.launcher({
        leaseId, role: spec.role, headGcsAddress: spec.headGcsAddress, token: spec.token, cpus: spec.cpus, gpus: spec.gpus,
        gpuIndices: entry.gpuIndices, ports: portBlock.ports, leaseDir: entry.leaseDir, nodeIp,
      });
      entry.node = node;
      if (this.closed) {
        await this.stopEntry(entry);
        return;
      }
      entry.state = 'joined';
      entry.rayNodeId = node.rayNodeId;
      entry.endpoint = node.endpoint;
      entry.joinedAtMs = this.now();
      this.options.logger.info(
        { leaseId, role: spec.role, rayNodeId: node.rayNodeId, endpoint: node.endpoint, ports: portBlock.ports.base, startMs: entry.joinedAtMs - startedAt },
        'Ray node joined',
      );
      this.report(entry);
      node.exited
        .then((reason) => this.queue.run(leaseId, () => this.nodeExited(entry, node, reason)))
        .catch((err: unknown) => this.options.logger.error({ err, leaseId }, 'could not handle the Ray node exit'));
    } catch (e) {
      await this.freeResources(entry);
      entry.state = 'failed';
      entry.reason = clip(messageOf(e));
      this.options.logger.error({ leaseId, role: spec.role, reason: entry.reason }, 'Ray node failed to start');
      this.report(entry);
    }
  }

  /** The node's process ended while the lease still wanted it: report `failed`. */
  private async nodeExited(entry: Entry, node: LaunchedNode, reason: string): Promise<void> {
    if (this.entries.get(entry.leaseId) !== entry || entry.node !== node || entry.state !== 'joined') return;
    this.options.logger.warn({ leaseId: entry.leaseId, reason }, 'Ray node exited by itself');
    try {
      await this.stopEntry(entry); // whatever is left of it
    } catch (err) {
      this.options.logger.error({ err, leaseId: entry.leaseId }, 'could not stop what was left of the Ray node');
    }
    entry.state = 'failed';
    entry.reason = clip(reason);
    this.report(entry);
  }

  /** Stops the entry's node (if running) and frees its ports and GPUs; the entry stays with state `stopped`. */
  private async stopEntry(entry: Entry): Promise<void> {
    const node = entry.node;
    entry.node = null;
    if (entry.state === 'joined' && entry.joinedAtMs !== null) {
      const seconds = (slotsOf(entry.spec) * Math.max(0, this.now() - entry.joinedAtMs)) / 1000;
      this.billedSeconds.set(entry.leaseId, (this.billedSeconds.get(entry.leaseId) ?? 0) + seconds);
      entry.joinedAtMs = null;
    }
    if (entry.state === 'joined' || entry.state === 'starting') entry.state = 'stopped';
    try {
      if (node) await node.stop();
    } finally {
      await this.freeResources(entry);
    }
  }

  private async freeResources(entry: Entry): Promise<void> {
    const block = entry.portBlock;
    entry.portBlock = null;
    entry.gpuIndices = [];
    await block?.release();
  }

  private allocateGpus(count: number): number[] {
    if (count === 0) return [];
    const used = new Set([...this.entries.values()].flatMap((e) => e.gpuIndices));
    const free = this.options.gpuIndices.filter((i) => !used.has(i));
    if (free.length < count) {
      throw new Error(`the lease needs ${count} GPU(s) but only ${free.length} of this device's ${this.options.gpuIndices.length} are free`);
    }
    return free.slice(0, count);
  }

  private async removeLeaseDir(leaseId: LeaseId): Promise<void> {
    const leaseDir = path.join(this.leasesDir, leaseId);
    for (const nodeName of ['head', 'worker']) {
      const work = await linkedWorkDir(leaseDir, nodeName);
      if (work) await removeWorkDir(work);
    }
    await rm(leaseDir, { recursive: true, force: true });
  }

  private report(e: Entry): void {
    this.sendStatus({ leaseId: e.leaseId, state: e.state, rayNodeId: e.rayNodeId, endpoint: e.endpoint, reason: e.reason });
  }

  private sendStatus(s: { leaseId: LeaseId; state: LeaseNodeState; rayNodeId: string | null; endpoint: RayEndpoint | null; reason: string | null }): void {
    try {
      this.options.send({ type: 'lease-status', leaseId: s.leaseId, state: s.state, rayNodeId: s.rayNodeId, endpoint: s.endpoint, reason: s.reason });
    } catch (err) {
      this.options.logger.error({ err, leaseId: s.leaseId, state: s.state }, 'could not send the lease status');
    }
  }
}
