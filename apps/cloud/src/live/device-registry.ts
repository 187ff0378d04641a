import type { Address, DeviceId, GpuModel, MicroUsd, RegionId, Tier } from '@idlegrid/domain';
import type { HardwareReport, NetworkCoordinate } from '@idlegrid/protocol';

/** What the control plane knows about a connected device, kept in memory. */
export interface LiveDevice {
  readonly id: DeviceId;
  readonly sessionId: number;
  /**
   * The replica holding the agent's connection when that is another control-plane replica
   * (absent: this process holds it). Only the owner judges a device's liveness and talks to it;
   * `send` on a remote entry goes through the owner.
   */
  readonly owner?: string;
  readonly gpuModel: GpuModel;
  readonly slots: number;
  readonly region: RegionId;
  readonly pricePerGpuHour: MicroUsd;
  readonly payout: Address;
  readonly hardware: HardwareReport;
  readonly agentVersion: string;
  readonly connectedAtMs: number;
  readonly firstSeenMs: number;
  /** Reputation and verification: read from the store at connect, refreshed by `setStanding` (epochs, verification). */
  tier: Tier;
  reputation: number;
  verified: boolean;
  lastSeenMs: number;
  /** Vivaldi coordinate with its error estimate, as the agent last reported it. */
  coordinate: (NetworkCoordinate & { error?: number }) | null;
  /** ip:port of the agent's RTT echo, if it announced one. */
  readonly echoAddress: string | null;
  /** Sends a server message to the agent; false when the connection is gone. */
  readonly send: (message: Record<string, unknown>) => boolean;
  /** Ends the agent's connection (used when it is replaced or declared lost). */
  readonly disconnect: (code: string, reason: string) => void;
}

/**
 * The live set of online devices. Liveness is in memory (the heartbeat hot path never
 * waits for the store); `takeDirty` hands the changed rows to a periodic batched flush.
 */
/** Who wants to hear about devices coming, going and moving (the capacity index, the planner). */
export interface RegistryListener {
  connected?(device: LiveDevice): void;
  removed?(device: LiveDevice): void;
  moved?(device: LiveDevice): void;
  /** Its tier, reputation or verification changed. */
  standingChanged?(device: LiveDevice): void;
}

export class DeviceRegistry {
  private readonly devices = new Map<DeviceId, LiveDevice>();
  private readonly dirty = new Set<DeviceId>();
  private readonly listeners: RegistryListener[] = [];

  subscribe(listener: RegistryListener): void {
    this.listeners.push(listener);
  }

  /** Adds a device; returns the connection it replaced, if the same key was already online. */
  connect(device: LiveDevice): LiveDevice | undefined {
    const previous = this.devices.get(device.id);
    this.devices.set(device.id, device);
    if (device.owner === undefined) this.dirty.add(device.id);
    else this.dirty.delete(device.id);
    for (const l of this.listeners) l.connected?.(device);
    return previous;
  }

  heartbeat(id: DeviceId, sessionId: number, nowMs: number, coordinate: (NetworkCoordinate & { error?: number }) | null): void {
    const device = this.devices.get(id);
    if (!device || device.sessionId !== sessionId) return;
    device.lastSeenMs = nowMs;
    this.dirty.add(id);
    // Agents repeat their coordinate in every heartbeat; only a changed one moves the device
    // (re-indexing it for placement costs more than the rest of a heartbeat).
    if (coordinate && !sameCoordinate(device.coordinate, coordinate)) {
      device.coordinate = coordinate;
      for (const l of this.listeners) l.moved?.(device);
    }
  }

  /** Sets the coordinate of a device another replica holds (its owner reported the move). */
  move(id: DeviceId, coordinate: NetworkCoordinate & { error?: number }): void {
    const device = this.devices.get(id);
    if (!device || sameCoordinate(device.coordinate, coordinate)) return;
    device.coordinate = coordinate;
    for (const l of this.listeners) l.moved?.(device);
  }

  /** Removes the device if `sessionId` is still its current connection; returns it if removed. */
  remove(id: DeviceId, sessionId: number): LiveDevice | undefined {
    const device = this.devices.get(id);
    if (!device || device.sessionId !== sessionId) return undefined;
    this.devices.delete(id);
    this.dirty.delete(id);
    for (const l of this.listeners) l.removed?.(device);
    return device;
  }

  /** Updates an online device's standing (a no-op for a device that is not online). */
  setStanding(id: DeviceId, standing: { tier?: Tier; reputation?: number; verified?: boolean }): void {
    const device = this.devices.get(id);
    if (!device) return;
    if (standing.tier !== undefined) device.tier = standing.tier;
    if (standing.reputation !== undefined) device.reputation = standing.reputation;
    if (standing.verified !== undefined) device.verified = standing.verified;
    for (const l of this.listeners) l.standingChanged?.(device);
  }

  /** Devices connected here that were silent for longer than `lossMs` at `nowMs` (other replicas judge theirs). */
  silentSince(nowMs: number, lossMs: number): LiveDevice[] {
    const lost: LiveDevice[] = [];
    for (const d of this.devices.values()) if (d.owner === undefined && nowMs - d.lastSeenMs > lossMs) lost.push(d);
    return lost;
  }

  get(id: DeviceId): LiveDevice | undefined {
    return this.devices.get(id);
  }

  online(): IterableIterator<LiveDevice> {
    return this.devices.values();
  }

  get size(): number {
    return this.devices.size;
  }

  takeDirty(): LiveDevice[] {
    const rows: LiveDevice[] = [];
    for (const id of this.dirty) {
      const d = this.devices.get(id);
      if (d) rows.push(d);
    }
    this.dirty.clear();
    return rows;
  }
}

function sameCoordinate(a: (NetworkCoordinate & { error?: number }) | null, b: NetworkCoordinate & { error?: number }): boolean {
  return a !== null && a.x === b.x && a.y === b.y && a.h === b.h && a.error === b.error;
}
