import type { DeviceId, RandomSource, RegionId } from '@idlegrid/domain';
import type { NetworkCoordinate, ServerMessage } from '@idlegrid/protocol';
import { estimateRtt, initialCoordinate, INITIAL_VIVALDI_ERROR, pickProbePeers, type ProbeCandidate } from '@idlegrid/scheduler';

/** The server → agent `probe` command. */
export type ProbeMessage = Extract<ServerMessage, { type: 'probe' }>;
export type ProbePeer = ProbeMessage['peers'][number];

/** One command to send: the device to probe from and its `probe` message. */
export interface ProbePlan {
  readonly deviceId: DeviceId;
  readonly message: ProbeMessage;
}

/** What the planner reads of a live device (LiveDevice has all of it). */
export interface ProbeableDevice {
  readonly id: DeviceId;
  readonly coordinate: (NetworkCoordinate & { error?: number }) | null;
  /** Where a device without a reported coordinate yet is assumed to be. */
  readonly region: RegionId;
  /** ip:port of the agent's RTT echo; null or absent: the device cannot be probed. */
  readonly echoAddress?: string | null;
}

/** The part of DeviceRegistry the planner uses. */
export interface ProbeRegistry {
  online(): Iterable<ProbeableDevice>;
}

export interface ProbePlannerDeps {
  registry: ProbeRegistry;
  random: RandomSource;
  /** Peers each device measures per round. Default 4, at most 64 (the protocol's limit). */
  peersPerRound?: number;
  /**
   * Peers are picked from this many probeable devices drawn at random (all of them when
   * there are fewer) plus the device's nearest peers found in earlier rounds and theirs, so a round
   * costs O(devices × sample) however large the pool. Default 32.
   */
  candidateSample?: number;
}

/** The RTTs a device last reported, for the peers it was asked to measure. */
export interface ProbeReport {
  readonly rtts: ReadonlyArray<{ readonly deviceId: DeviceId; readonly rttMs: number | null }>;
}

export const DEFAULT_PEERS_PER_ROUND = 4;
export const DEFAULT_CANDIDATE_SAMPLE = 32;
/** Nearest peers remembered per device, offered again as candidates in later rounds. */
const NEIGHBOURS_KEPT = 4;

type Probeable = ProbeableDevice & { readonly echoAddress: string };

/** The probeable devices of one plan() call, in id order, with a scratch permutation for sampling. */
interface Round {
  readonly devices: readonly Probeable[];
  readonly candidates: readonly ProbeCandidate[];
  readonly indexById: ReadonlyMap<string, number>;
  readonly order: number[];
}

/**
 * Plans RTT probe rounds: every online device that announced an echo measures a few
 * other such devices (pickProbePeers: about a third nearest by current coordinates, the
 * rest random), and gets each peer's echo address and, when known, its coordinate for
 * the Vivaldi update. Deterministic for the same online set, history and random sequence
 * (devices are taken in id order, whatever order they connected in).
 */
export class ProbePlanner {
  private readonly peersPerRound: number;
  private readonly candidateSample: number;
  /** Peers last asked of each device, to accept only their RTTs. */
  private readonly asked = new Map<DeviceId, ReadonlySet<string>>();
  private readonly reports = new Map<DeviceId, ProbeReport>();
  /** Nearest peers (by estimated RTT) found so far per device. */
  private readonly neighbours = new Map<DeviceId, readonly DeviceId[]>();
  /** Last device planned by a limited plan(), to continue after it. */
  private cursor: string | null = null;

  constructor(private readonly deps: ProbePlannerDeps) {
    this.peersPerRound = Math.max(0, Math.min(64, Math.floor(deps.peersPerRound ?? DEFAULT_PEERS_PER_ROUND)));
    this.candidateSample = Math.max(1, Math.floor(deps.candidateSample ?? DEFAULT_CANDIDATE_SAMPLE));
  }

  /**
   * One `probe` per probeable online device that has at least one probeable peer. With
   * `limit`, plans at most that many devices, continuing in id order after the last
   * device the previous limited call planned (wrapping around), to spread a large pool
   * over several calls.
   */
  plan(limit?: number): ProbePlan[] {
    const round = this.round();
    for (const id of [...this.asked.keys()]) if (!round.indexById.has(id)) this.forget(id);
    const n = round.devices.length;
    const count = limit === undefined ? n : Math.max(0, Math.min(n, Math.floor(limit)));
    const start = limit === undefined || this.cursor === null ? 0 : firstAfter(round.devices, this.cursor);
    const plans: ProbePlan[] = [];
    for (let k = 0; k < count; k++) {
      const index = (start + k) % n;
      const plan = this.planAt(round, index);
      if (plan) plans.push(plan);
      if (limit !== undefined) this.cursor = round.devices[index]?.id ?? null;
    }
    return plans;
  }

  /** The `probe` for one device (e.g. right after it connected); null when it has no echo or no peer. */
  planFor(deviceId: DeviceId): ProbePlan | null {
    const round = this.round();
    const index = round.indexById.get(deviceId);
    return index === undefined ? null : this.planAt(round, index);
  }

  /**
   * Records a device's `probe-result`. RTTs for peers it was not asked to measure in its
   * last plan are dropped. Returns how many were kept.
   */
  noteResult(deviceId: DeviceId, rtts: ReadonlyArray<{ readonly deviceId: string; readonly rttMs: number | null }>): number {
    const asked = this.asked.get(deviceId);
    if (!asked) return 0;
    const kept = rtts
      .filter((r) => asked.has(r.deviceId) && (r.rttMs === null || (Number.isFinite(r.rttMs) && r.rttMs >= 0)))
      .map((r) => ({ deviceId: r.deviceId as DeviceId, rttMs: r.rttMs }));
    this.reports.set(deviceId, { rtts: kept });
    return kept.length;
  }

  /** The RTTs the device last reported (diagnostics). */
  lastReport(deviceId: DeviceId): ProbeReport | undefined {
    return this.reports.get(deviceId);
  }

  /** Drops what the planner remembers of a device (call when it goes offline; plan() also prunes). */
  forget(deviceId: DeviceId): void {
    this.asked.delete(deviceId);
    this.reports.delete(deviceId);
    this.neighbours.delete(deviceId);
  }

  /** Online devices with an echo address, by id. */
  private round(): Round {
    const devices: Probeable[] = [];
    for (const d of this.deps.registry.online()) {
      if (typeof d.echoAddress !== 'string' || d.echoAddress === '') continue;
      // Before its first heartbeat a device is where its region starts it (as the agent itself assumes).
      const coordinate = d.coordinate ?? { ...initialCoordinate(d.region, d.id), error: INITIAL_VIVALDI_ERROR };
      devices.push({ id: d.id, region: d.region, coordinate, echoAddress: d.echoAddress });
    }
    devices.sort((a, b) => compareIds(a.id, b.id));
    return {
      devices,
      candidates: devices.map((d) => ({ deviceId: d.id, coordinate: d.coordinate ?? undefined })),
      indexById: new Map(devices.map((d, i) => [d.id as string, i])),
      order: devices.map((_, i) => i),
    };
  }

  /** The plan for round.devices[index]; reshuffles round.order (a partial Fisher–Yates draws the sample). */
  private planAt(round: Round, index: number): ProbePlan | null {
    const { devices, candidates: all, indexById, order } = round;
    const self = all[index];
    if (!self || devices.length < 2 || this.peersPerRound === 0) return null;
    const candidates: ProbeCandidate[] = [self];
    // Nearest peers found so far and their own nearest peers (neighbour descent: local accuracy improves every round).
    for (const id of this.neighbours.get(self.deviceId) ?? []) {
      for (const near of [id, ...(this.neighbours.get(id) ?? [])]) {
        const known = indexById.get(near);
        const candidate = known === undefined ? undefined : all[known];
        if (candidate) candidates.push(candidate);
      }
    }
    const sample = Math.min(this.candidateSample, order.length);
    for (let i = 0; i < sample; i++) {
      if (sample < order.length) {
        const j = i + Math.floor(this.deps.random() * (order.length - i));
        const a = order[i] ?? 0;
        order[i] = order[j] ?? 0;
        order[j] = a;
      }
      const candidate = all[order[i] ?? 0];
      if (candidate) candidates.push(candidate);
    }
    this.remember(self, candidates);
    const peers: ProbePeer[] = [];
    for (const id of pickProbePeers(self.deviceId, candidates, this.peersPerRound, this.deps.random)) {
      const peer = devices[indexById.get(id) ?? -1];
      if (!peer) continue;
      const c = peer.coordinate;
      peers.push({
        deviceId: peer.id,
        address: peer.echoAddress,
        ...(c ? { coordinate: { x: c.x, y: c.y, h: c.h, error: c.error ?? INITIAL_VIVALDI_ERROR } } : {}),
      });
    }
    if (peers.length === 0) return null;
    this.asked.set(self.deviceId, new Set(peers.map((p) => p.deviceId)));
    return { deviceId: self.deviceId, message: { type: 'probe', peers } };
  }

  /** Keeps the NEIGHBOURS_KEPT candidates nearest to `self` by estimated RTT (when coordinates are known). */
  private remember(self: ProbeCandidate, candidates: readonly ProbeCandidate[]): void {
    const origin = self.coordinate;
    if (!origin) return;
    const seen = new Set<string>([self.deviceId]);
    const near: Array<{ id: DeviceId; rtt: number }> = [];
    for (const c of candidates) {
      if (!c.coordinate || seen.has(c.deviceId)) continue;
      seen.add(c.deviceId);
      near.push({ id: c.deviceId, rtt: estimateRtt(origin, c.coordinate) });
    }
    near.sort((a, b) => a.rtt - b.rtt || compareIds(a.id, b.id));
    this.neighbours.set(self.deviceId, near.slice(0, NEIGHBOURS_KEPT).map((e) => e.id));
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index of the first device whose id sorts after `id` (0 past the end: wrap around). */
function firstAfter(devices: readonly Probeable[], id: string): number {
  let lo = 0;
  let hi = devices.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareIds(devices[mid]?.id ?? '', id) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo >= devices.length ? 0 : lo;
}
