import type { DeviceId, RandomSource } from '@idlegrid/domain';
import {
  initialCoordinate, SlotPool, type AllocationResult, type Coordinate, type Placement, type PlacementRequest, type PoolDevice,
} from '@idlegrid/scheduler';
import type { DeviceRegistry, LiveDevice } from '../live/device-registry.ts';

/**
 * The scheduler's view of supply: a SlotPool kept in step with the live registry (devices
 * coming, going and moving) and with lease reservations. Only online devices that passed
 * proof of GPU are in it: a device waiting for its first verdict, or suspended after a
 * failed one, is never placed (whatever the request's `verifiedOnly`).
 */
export class Capacity {
  private readonly pool = new SlotPool();
  /** Slots held by active leases, per device (kept while a device is offline too). */
  private readonly reserved = new Map<DeviceId, number>();

  constructor(
    private readonly registry: DeviceRegistry,
    private readonly random: RandomSource,
  ) {
    for (const d of registry.online()) this.add(d);
    registry.subscribe({
      connected: (d) => this.add(d),
      removed: (d) => this.pool.removeDevice(d.id),
      moved: (d) => this.pool.setCoordinate(d.id, coordinateOf(d)),
      standingChanged: (d) => this.add(d),
    });
  }

  quote(request: PlacementRequest): AllocationResult {
    return this.pool.allocate(request, this.random);
  }

  /** A quote that leaves `exclude` out (devices already in a lease, or that failed it). */
  quoteExcluding(request: PlacementRequest, exclude: ReadonlySet<string>): AllocationResult {
    const held: Array<[DeviceId, number]> = [];
    for (const id of exclude) {
      const free = this.pool.get(id as DeviceId)?.freeSlots ?? 0;
      if (free > 0 && this.pool.reserve(id as DeviceId, free)) held.push([id as DeviceId, free]);
    }
    try {
      return this.pool.allocate(request, this.random);
    } finally {
      for (const [id, free] of held) this.pool.releaseSlots(id, free);
    }
  }

  /** Takes the placement's slots out of the free pool. False if any slot is no longer free. */
  reserve(placement: Placement): boolean {
    if (!this.pool.reservePlacement(placement)) return false;
    for (const d of placement.devices) this.reserved.set(d.deviceId, (this.reserved.get(d.deviceId) ?? 0) + d.slots);
    return true;
  }

  /**
   * Replaces every reservation with the slots active leases hold in the store (a control-plane
   * start, a replica taking the lead, or a follower catching up with the leader's bookings).
   */
  replaceReservations(slotsByDevice: ReadonlyMap<DeviceId, number>): void {
    const touched = new Set<DeviceId>([...this.reserved.keys(), ...slotsByDevice.keys()]);
    this.reserved.clear();
    for (const [id, slots] of slotsByDevice) if (slots > 0) this.reserved.set(id, slots);
    for (const id of touched) {
      const live = this.registry.get(id);
      if (live) this.add(live);
    }
  }

  /** Gives slots back to the pool when a lease lets go of a device. */
  release(deviceId: DeviceId, slots: number): void {
    const held = this.reserved.get(deviceId) ?? 0;
    const left = Math.max(0, held - slots);
    if (left === 0) this.reserved.delete(deviceId);
    else this.reserved.set(deviceId, left);
    const live = this.registry.get(deviceId);
    if (live) this.add(live);
  }

  freeSlots(deviceId: DeviceId): number {
    return this.pool.get(deviceId)?.freeSlots ?? 0;
  }

  private add(d: LiveDevice): void {
    if (!d.verified) {
      this.pool.removeDevice(d.id);
      return;
    }
    const free = Math.max(0, d.slots - (this.reserved.get(d.id) ?? 0));
    const entry: PoolDevice = {
      deviceId: d.id,
      model: d.gpuModel,
      freeSlots: free,
      pricePerGpuHour: d.pricePerGpuHour,
      tier: d.tier,
      region: d.region,
      verified: d.verified,
      reputation: d.reputation,
      coordinate: coordinateOf(d),
    };
    this.pool.upsertDevice(entry);
  }
}

function coordinateOf(d: LiveDevice): Coordinate {
  return d.coordinate ? { x: d.coordinate.x, y: d.coordinate.y, h: d.coordinate.h } : initialCoordinate(d.region, d.id);
}
