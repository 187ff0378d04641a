import type { Logger } from 'pino';
import type { DeviceId } from '@idlegrid/domain';
import { hardwareReportSchema } from '@idlegrid/protocol';
import type { DeviceRecord, Store } from '@idlegrid/store';
import type { DeviceRegistry, LiveDevice } from '../live/device-registry.ts';
import { splitMessages, type AnnouncedDevice, type BusMessage, type BusMessageOf } from './bus-messages.ts';
import type { ReplicaBus } from './replica-bus.ts';

/** How often queued device announcements go out (they are batched into few messages). */
const ANNOUNCE_MS = 100;

type Standing = BusMessageOf<'standing'>['devices'][number];
type Move = BusMessageOf<'moved'>['devices'][number];

/**
 * Keeps every replica's registry showing every online device, wherever its agent is connected.
 * A device connected here is announced to the others (`up`, `down`, `standing`, `moved`); a
 * device announced by another replica is added here as a remote entry (`owner` = that replica)
 * whose `send` goes over the bus to the replica holding the connection. The supply, quotes and
 * the leader's scheduler therefore see one pool; only the owner judges the device's liveness.
 */
export class RemoteDevices {
  private readonly ups = new Map<DeviceId, AnnouncedDevice>();
  private readonly downs = new Map<DeviceId, number>();
  private readonly standings = new Map<DeviceId, Standing>();
  private readonly moves = new Map<DeviceId, Move>();
  private timer: NodeJS.Timeout | undefined;
  /** Remote entries get session ids below zero, so they never equal a local connection's. */
  private nextSession = -1;
  /** True while a message from another replica is applied: those changes are not announced again. */
  private applying = false;

  constructor(
    private readonly o: { self: string; bus: ReplicaBus; registry: DeviceRegistry; store: Store; logger: Logger },
  ) {
    o.registry.subscribe({
      connected: (d) => {
        if (d.owner === undefined) this.queueUp(d);
      },
      removed: (d) => {
        if (d.owner !== undefined) return;
        this.ups.delete(d.id);
        this.downs.set(d.id, d.lastSeenMs);
      },
      moved: (d) => {
        if (d.owner === undefined && d.coordinate) this.moves.set(d.id, { id: d.id, ...d.coordinate });
      },
      standingChanged: (d) => {
        if (!this.applying) this.standings.set(d.id, { id: d.id, tier: d.tier, reputation: d.reputation, verified: d.verified });
      },
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), ANNOUNCE_MS);
    this.timer.unref();
  }

  /** Sends what is still queued and stops. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Announces every device connected here again (another replica asked: it joined or missed messages). */
  announceAll(): void {
    for (const d of this.o.registry.online()) if (d.owner === undefined) this.queueUp(d);
  }

  /** Devices whose connection `owner` holds, as this registry has them. */
  ownedBy(owner: string): LiveDevice[] {
    return [...this.o.registry.online()].filter((d) => d.owner === owner);
  }

  /**
   * Takes out the devices of a replica that went away and whose agents did not reconnect to
   * another: each is offline from its last heartbeat as the store has it (flushed by its late
   * owner, so never later than the truth). Returns them, with that time as lastSeenMs.
   */
  async dropOrphans(owner: string): Promise<LiveDevice[]> {
    const orphans = this.ownedBy(owner);
    if (orphans.length === 0) return [];
    const rows = new Map((await this.o.store.devices.getMany(orphans.map((d) => d.id))).map((r) => [r.id, r]));
    const dropped: LiveDevice[] = [];
    for (const d of orphans) {
      const current = this.o.registry.get(d.id);
      if (current?.sessionId !== d.sessionId) continue;
      d.lastSeenMs = rows.get(d.id)?.lastSeenMs ?? d.lastSeenMs;
      if (this.o.registry.remove(d.id, d.sessionId)) dropped.push(d);
    }
    return dropped;
  }

  /** Applies a device message from another replica (called in bus order). */
  async apply(m: BusMessage): Promise<void> {
    switch (m.t) {
      case 'up':
        return this.applyUp(m.from, m.devices);
      case 'down':
        for (const { id, seen } of m.devices) {
          const d = this.o.registry.get(id);
          if (d?.owner !== m.from) continue;
          d.lastSeenMs = Math.max(d.lastSeenMs, seen);
          this.o.registry.remove(d.id, d.sessionId);
        }
        return;
      case 'standing':
        this.asRemote(() => {
          for (const s of m.devices) {
            this.o.registry.setStanding(s.id, {
              ...(s.tier !== undefined ? { tier: s.tier } : {}),
              ...(s.reputation !== undefined ? { reputation: s.reputation } : {}),
              ...(s.verified !== undefined ? { verified: s.verified } : {}),
            });
          }
        });
        return;
      case 'moved':
        for (const { id, ...coordinate } of m.devices) {
          if (this.o.registry.get(id)?.owner === m.from) this.o.registry.move(id, coordinate);
        }
        return;
      case 'send': {
        if (m.to !== this.o.self) return;
        const d = this.o.registry.get(m.device);
        if (d?.owner === undefined) d?.send(m.message);
        return;
      }
      default:
        return;
    }
  }

  private async applyUp(owner: string, devices: readonly AnnouncedDevice[]): Promise<void> {
    const fresh: AnnouncedDevice[] = [];
    for (const a of devices) {
      const known = this.o.registry.get(a.id);
      if (known?.owner === owner) {
        this.asRemote(() => this.o.registry.setStanding(known.id, { tier: a.tier, reputation: a.reputation, verified: a.verified }));
        if (a.coordinate) this.o.registry.move(known.id, a.coordinate);
      } else {
        fresh.push(a);
      }
    }
    if (fresh.length === 0) return;
    const rows = new Map((await this.o.store.devices.getMany(fresh.map((a) => a.id))).map((r) => [r.id, r]));
    for (const a of fresh) {
      const row = rows.get(a.id);
      const entry = row ? this.remoteEntry(owner, row, a) : null;
      if (!entry) {
        this.o.logger.warn({ deviceId: a.id, owner }, 'announced device is not in the store; ignored');
        continue;
      }
      // A device that moved here from this replica: its old connection here is closed as replaced.
      const previous = this.asRemote(() => this.o.registry.connect(entry));
      if (previous?.owner === undefined) previous?.disconnect('AGENT_REPLACED', `connected to replica ${owner}`);
    }
  }

  private remoteEntry(owner: string, row: DeviceRecord, a: AnnouncedDevice): LiveDevice | null {
    const hardware = hardwareReportSchema.safeParse(row.hardware);
    if (!hardware.success) return null;
    const { bus, self, logger } = this.o;
    return {
      id: row.id,
      sessionId: this.nextSession--,
      owner,
      gpuModel: row.gpuModel,
      slots: row.gpuCount,
      region: row.region,
      pricePerGpuHour: row.pricePerGpuHour,
      payout: row.payout,
      hardware: hardware.data,
      agentVersion: row.agentVersion,
      connectedAtMs: row.connectedAtMs ?? row.lastSeenMs,
      firstSeenMs: row.firstSeenMs,
      lastSeenMs: row.lastSeenMs,
      tier: a.tier,
      reputation: a.reputation,
      verified: a.verified,
      coordinate: a.coordinate,
      echoAddress: a.echo,
      send: (message) => {
        bus.publish({ t: 'send', from: self, to: owner, device: row.id, message }).catch((err: unknown) =>
          logger.warn({ err, deviceId: row.id, owner }, 'could not relay a message to the replica holding the device'));
        return true;
      },
      disconnect: () => undefined,
    };
  }

  private asRemote<T>(fn: () => T): T {
    this.applying = true;
    try {
      return fn();
    } finally {
      this.applying = false;
    }
  }

  private queueUp(d: LiveDevice): void {
    this.downs.delete(d.id);
    this.ups.set(d.id, { id: d.id, echo: d.echoAddress, verified: d.verified, tier: d.tier, reputation: d.reputation, coordinate: d.coordinate });
  }

  private async flush(): Promise<void> {
    if (this.downs.size + this.ups.size + this.standings.size + this.moves.size === 0) return;
    const { bus, self } = this.o;
    const out: BusMessage[] = [
      ...splitMessages([...this.downs].map(([id, seen]) => ({ id, seen })), (devices) => ({ t: 'down' as const, from: self, devices }), bus.maxBytes),
      ...splitMessages([...this.ups.values()], (devices) => ({ t: 'up' as const, from: self, devices }), bus.maxBytes),
      ...splitMessages([...this.standings.values()], (devices) => ({ t: 'standing' as const, from: self, devices }), bus.maxBytes),
      ...splitMessages([...this.moves.values()], (devices) => ({ t: 'moved' as const, from: self, devices }), bus.maxBytes),
    ];
    this.downs.clear();
    this.ups.clear();
    this.standings.clear();
    this.moves.clear();
    for (const m of out) {
      try {
        await bus.publish(m);
      } catch (err) {
        this.o.logger.warn({ err, kind: m.t }, 'could not announce devices to the other replicas');
      }
    }
  }
}
