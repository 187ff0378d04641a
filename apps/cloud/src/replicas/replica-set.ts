import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { IdlegridError, type Clock, type DeviceId } from '@idlegrid/domain';
import type { LeaseStatusMessage, ProbeResultMessage } from '@idlegrid/protocol';
import type { Store } from '@idlegrid/store';
import type { DeviceRegistry } from '../live/device-registry.ts';
import type { BusMessage, BusMessageOf } from './bus-messages.ts';
import type { LeaderLock, LeaderLockFactory } from './leader-lock.ts';
import type { ReplicaBus } from './replica-bus.ts';
import { RemoteDevices } from './remote-devices.ts';

/** An agent message only the leader acts on. */
export type LeaderBoundMessage = LeaseStatusMessage | ProbeResultMessage;

export interface ReplicaSetOptions {
  /** This replica's id (default: random `r-…`). */
  id?: string;
  bus: ReplicaBus;
  lock: LeaderLockFactory;
  registry: DeviceRegistry;
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Which chain this replica settles on (authority and IO mint); replicas must agree. */
  chain: string;
  /** A replica silent this long is gone: its devices that did not reconnect elsewhere go offline. */
  lossSeconds: number;
  /** How often a replica says it is alive and the followers try for the lead (default 1,000 ms). */
  tickMs?: number;
  /** Runs when this replica becomes the leader: start the scheduler, settlement and epochs. */
  onElected: () => Promise<void>;
  /** This replica led and lost the lock (its PostgreSQL session ended): it must stop leading. */
  onDeposed: (reason: string) => void;
  /** Leader: an agent message another replica received. */
  onAgentMessage: (deviceId: DeviceId, message: LeaderBoundMessage) => void;
  /** Leader: another replica asks for a settlement round (a deposit, a withdrawal, a booking). */
  onSettleNudge: () => void;
  /** Follower: the leader changed leases (re-read slot reservations and active nodes). */
  onLeasesChanged: () => void;
  /** Devices of a replica that went away and did not come back elsewhere, now offline (the leader ends their lease nodes). */
  onOrphansDropped?: (devices: ReadonlyArray<{ id: DeviceId; lastSeenMs: number }>) => void;
}

export interface PeerView {
  id: string;
  url: string;
  leader: boolean;
  devices: number;
  lastAliveMs: number;
}

interface Peer extends PeerView {
  chain: string;
}

/** Messages for the leader are kept this long at most while no leader is known. */
const PENDING_FOR_LEADER = 1_000;

/**
 * One control-plane replica among several on one PostgreSQL. Every replica serves the API and
 * agents; one, the holder of the leader lock, runs the scheduler's leases, settlement and
 * epochs. Replicas say they are alive every tick, mirror each other's devices (RemoteDevices),
 * relay agent messages meant for the leader, and take over the lead when its holder goes away.
 */
export class ReplicaSet {
  readonly id: string;
  private url = '';
  private readonly peers = new Map<string, Peer>();
  private readonly devices: RemoteDevices;
  private readonly lock: LeaderLock;
  private leading = false;
  private electing = false;
  private timer: NodeJS.Timeout | undefined;
  private inbox: Promise<void> = Promise.resolve();
  private readonly pending: BusMessage[] = [];
  private stopped = false;
  /** When this replica last heard its own `alive` back: the bus itself works. */
  private heardSelfMs: number;

  constructor(private readonly o: ReplicaSetOptions) {
    this.id = o.id ?? `r-${randomBytes(6).toString('hex')}`;
    this.devices = new RemoteDevices({ self: this.id, bus: o.bus, registry: o.registry, store: o.store, logger: o.logger });
    this.lock = o.lock((reason) => this.deposed(reason));
    this.heardSelfMs = o.clock.now();
    o.bus.subscribe(
      (m) => {
        if (m.from === this.id && m.t === 'alive') this.heardSelfMs = o.clock.now();
        if (m.from === this.id || this.stopped) return;
        this.inbox = this.inbox.then(() => this.receive(m)).catch((err: unknown) => o.logger.error({ err, kind: m.t }, 'replica message failed'));
      },
      () => void this.publish({ t: 'sync', from: this.id }),
    );
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The leader's URL when another replica leads and is alive; null when this one leads or none is known. */
  leaderUrl(): string | null {
    return this.leader()?.url ?? null;
  }

  /** The replicas this one hears from, itself included. */
  view(): PeerView[] {
    const self: PeerView = { id: this.id, url: this.url, leader: this.leading, devices: this.localDevices(), lastAliveMs: this.o.clock.now() };
    return [self, ...[...this.peers.values()].map(({ chain: _chain, ...p }) => p)].sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Joins: listens, asks the others to announce themselves and their devices, and waits one
   * tick and a half to hear them. Refuses a set whose replicas settle on another chain. Returns
   * whether this replica is alone (then nothing in the store is held by a live replica).
   */
  async join(): Promise<{ alone: boolean }> {
    const tickMs = this.o.tickMs ?? 1_000;
    this.devices.start();
    await this.publish({ t: 'sync', from: this.id });
    await new Promise((resolve) => setTimeout(resolve, Math.round(tickMs * 1.5)));
    await this.inbox;
    const other = [...this.peers.values()].find((p) => p.chain !== this.o.chain);
    if (other) {
      throw new IdlegridError('CONFIG_INVALID', {
        issues: [{ path: 'chain', message: `replica ${other.id} (${other.url}) settles on ${other.chain}, this one on ${this.o.chain}: replicas must share one chain (start every replica with the same --chain URL and --authority)` }],
      });
    }
    return { alone: this.peers.size === 0 };
  }

  /** Starts saying it is alive at `url` (reachable by the other replicas) and trying for the lead. */
  start(url: string): void {
    this.url = url;
    const tick = () => void this.tick().catch((err: unknown) => this.o.logger.error({ err }, 'replica tick failed'));
    this.timer = setInterval(tick, this.o.tickMs ?? 1_000);
    this.timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    clearInterval(this.timer);
    await this.devices.stop();
    await this.publish({ t: 'bye', from: this.id });
    this.stopped = true;
    await this.inbox;
    await this.lock.close();
  }

  /** An agent's lease status or probe result, for whichever replica leads. */
  toLeader(deviceId: DeviceId, message: LeaderBoundMessage): void {
    if (this.leading) {
      this.o.onAgentMessage(deviceId, message);
      return;
    }
    this.forLeader({ t: 'agent', from: this.id, device: deviceId, message });
  }

  /** Asks the leader for a settlement round soon (here when this replica leads). */
  nudgeSettlement(): void {
    if (this.leading) this.o.onSettleNudge();
    else this.forLeader({ t: 'nudge', from: this.id, what: 'settle' });
  }

  /** Leader: tells the followers that leases changed. */
  leasesChanged(): void {
    if (this.leading) void this.publish({ t: 'nudge', from: this.id, what: 'leases' });
  }

  private leader(): Peer | undefined {
    if (this.leading) return undefined;
    return [...this.peers.values()].find((p) => p.leader);
  }

  private localDevices(): number {
    let n = 0;
    for (const d of this.o.registry.online()) if (d.owner === undefined) n++;
    return n;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.leading) {
      await this.lock.healthy();
    } else if (!this.electing) {
      this.electing = true;
      try {
        if (await this.lock.tryAcquire()) {
          this.leading = true;
          for (const p of this.peers.values()) p.leader = false;
          this.o.logger.info({ replica: this.id }, 'this replica is now the leader');
          await this.o.onElected();
          // What waited for a leader is this replica's now.
          for (const m of this.pending.splice(0)) await this.receive(m);
        }
      } finally {
        this.electing = false;
      }
    }
    if (!this.stopped) await this.publish({ t: 'alive', from: this.id, url: this.url, leader: this.leading, chain: this.o.chain, at: this.o.clock.now(), devices: this.localDevices() });
    await this.sweepPeers();
  }

  private deposed(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.o.logger.error({ replica: this.id, reason }, 'lost the leader lock');
    this.o.onDeposed(reason);
  }

  private async sweepPeers(): Promise<void> {
    const now = this.o.clock.now();
    // Silence from the others means they are gone only while this replica hears itself; otherwise the bus is what broke.
    if (now - this.heardSelfMs > this.o.lossSeconds * 1000) return;
    for (const p of [...this.peers.values()]) {
      if (now - p.lastAliveMs <= this.o.lossSeconds * 1000) continue;
      this.peers.delete(p.id);
      const dropped = await this.devices.dropOrphans(p.id);
      this.o.logger.warn({ replica: p.id, url: p.url, devicesOffline: dropped.length }, 'replica gone');
      if (dropped.length > 0) this.o.onOrphansDropped?.(dropped.map((d) => ({ id: d.id, lastSeenMs: d.lastSeenMs })));
    }
  }

  private async receive(m: BusMessage): Promise<void> {
    switch (m.t) {
      case 'alive':
        return this.alive(m);
      case 'bye': {
        const p = this.peers.get(m.from);
        if (p) p.leader = false;
        return;
      }
      case 'sync':
        this.devices.announceAll();
        return;
      case 'agent':
        if (this.leading) this.o.onAgentMessage(m.device, m.message);
        return;
      case 'nudge':
        if (m.what === 'settle' && this.leading) this.o.onSettleNudge();
        if (m.what === 'leases' && !this.leading) this.o.onLeasesChanged();
        return;
      default:
        return this.devices.apply(m);
    }
  }

  private alive(m: BusMessageOf<'alive'>): void {
    const known = this.peers.get(m.from);
    if (!known) this.o.logger.info({ replica: m.from, url: m.url, leader: m.leader }, 'replica joined');
    if (m.leader && this.leading) this.o.logger.error({ other: m.from }, 'another replica also claims the lead');
    if (m.leader) for (const p of this.peers.values()) p.leader = false;
    this.peers.set(m.from, { id: m.from, url: m.url, leader: m.leader, devices: m.devices, lastAliveMs: this.o.clock.now(), chain: m.chain });
    if (m.leader && this.pending.length > 0) {
      for (const p of this.pending.splice(0)) void this.publish(p);
    }
  }

  /** Sends now when a leader is known; otherwise keeps the message until one says it is alive. */
  private forLeader(m: BusMessage): void {
    if (this.leader()) {
      void this.publish(m);
      return;
    }
    if (this.pending.length >= PENDING_FOR_LEADER) this.pending.shift();
    this.pending.push(m);
  }

  private async publish(m: BusMessage): Promise<void> {
    try {
      await this.o.bus.publish(m);
    } catch (err) {
      this.o.logger.warn({ err, kind: m.t }, 'could not publish to the other replicas');
    }
  }
}
