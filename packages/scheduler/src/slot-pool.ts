import { IdlegridError, type DeviceId, type GpuModel, type RandomSource } from '@idlegrid/domain';
import { allocateSorted, type AllocateOptions } from './allocate.ts';
import { validateDevice, validateRequest } from './filters.ts';
import { SortedDevices } from './sorted-devices.ts';
import type { AllocationResult, Coordinate, Placement, PlacementRequest, PoolDevice } from './types.ts';

function checkSlots(slots: number, where: string): void {
  if (!Number.isSafeInteger(slots) || slots < 1) {
    throw new IdlegridError('VALIDATION_FAILED', { where, issues: [{ path: 'slots', message: 'must be a positive integer' }] });
  }
}

/**
 * The live pool as an index, updated incrementally: every device by id, and per GPU
 * model the devices with free slots in canonical order (price ascending, reputation
 * descending, id) with running slot totals. A query touches only its model's bucket;
 * the price-sorted order gives `spread` its answer by a prefix walk and hands `tight`
 * a canonical candidate list, so an index built by any sequence of operations answers
 * exactly like one rebuilt from scratch. `tight` builds its spatial grid per query
 * from the filtered candidates (O(n)), which keeps the grid consistent with filters.
 */
export class SlotPool {
  private readonly byId = new Map<string, PoolDevice>();
  private readonly byModel = new Map<GpuModel, SortedDevices>();

  constructor(devices: Iterable<PoolDevice> = []) {
    for (const d of devices) this.upsertDevice(d);
  }

  /** Devices known (with or without free slots). */
  get size(): number {
    return this.byId.size;
  }

  /** Free slots of one model, or of every model. */
  freeSlots(model?: GpuModel): number {
    if (model !== undefined) return this.byModel.get(model)?.slots ?? 0;
    let total = 0;
    for (const bucket of this.byModel.values()) total += bucket.slots;
    return total;
  }

  /** The current entry of a device. */
  get(deviceId: DeviceId): PoolDevice | undefined {
    return this.byId.get(deviceId);
  }

  /** Every device, sorted by id. */
  devices(): PoolDevice[] {
    return [...this.byId.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  }

  /** Devices of a model that have free slots, in canonical order. */
  bucket(model: GpuModel): readonly PoolDevice[] {
    return this.byModel.get(model)?.view ?? [];
  }

  private index(device: PoolDevice): void {
    if (device.freeSlots <= 0) return;
    let bucket = this.byModel.get(device.model);
    if (!bucket) {
      bucket = new SortedDevices();
      this.byModel.set(device.model, bucket);
    }
    bucket.put(device);
  }

  private unindex(device: PoolDevice): void {
    const bucket = this.byModel.get(device.model);
    if (!bucket) return;
    bucket.delete(device);
    if (bucket.length === 0) this.byModel.delete(device.model);
  }

  /** Adds a device or replaces everything known about it (throws VALIDATION_FAILED when malformed). */
  upsertDevice(entry: PoolDevice): void {
    validateDevice(entry);
    const device: PoolDevice = { ...entry, coordinate: { ...entry.coordinate } };
    const old = this.byId.get(device.deviceId);
    if (old) this.unindex(old);
    this.byId.set(device.deviceId, device);
    this.index(device);
  }

  /** Forgets a device; false when it was unknown. */
  removeDevice(deviceId: DeviceId): boolean {
    const old = this.byId.get(deviceId);
    if (!old) return false;
    this.unindex(old);
    this.byId.delete(deviceId);
    return true;
  }

  private replace(old: PoolDevice, next: PoolDevice): void {
    this.unindex(old);
    this.byId.set(next.deviceId, next);
    this.index(next);
  }

  /**
   * Takes `slots` free slots of a device for a lease. Returns false and changes
   * nothing when the device is unknown or has fewer free slots: a slot is never
   * handed out twice.
   */
  reserve(deviceId: DeviceId, slots: number): boolean {
    checkSlots(slots, 'reserve');
    const old = this.byId.get(deviceId);
    if (!old || old.freeSlots < slots) return false;
    this.replace(old, { ...old, freeSlots: old.freeSlots - slots });
    return true;
  }

  /** Returns slots of an ended lease to a device; false when the device is unknown (it left). */
  releaseSlots(deviceId: DeviceId, slots: number): boolean {
    checkSlots(slots, 'releaseSlots');
    const old = this.byId.get(deviceId);
    if (!old) return false;
    this.replace(old, { ...old, freeSlots: old.freeSlots + slots });
    return true;
  }

  /** Updates a device's network coordinate; false when the device is unknown. */
  setCoordinate(deviceId: DeviceId, coordinate: Coordinate): boolean {
    const old = this.byId.get(deviceId);
    if (!old) return false;
    const next: PoolDevice = { ...old, coordinate: { x: coordinate.x, y: coordinate.y, h: coordinate.h } };
    validateDevice(next);
    this.replace(old, next);
    return true;
  }

  /** Reserves every device of a placement, all or nothing; false when any no longer has the slots. */
  reservePlacement(placement: Placement): boolean {
    const wanted = new Map<DeviceId, number>();
    for (const d of placement.devices) wanted.set(d.deviceId, (wanted.get(d.deviceId) ?? 0) + d.slots);
    for (const [id, slots] of wanted) {
      const current = this.byId.get(id);
      if (!current || current.freeSlots < slots || slots < 1) return false;
    }
    for (const [id, slots] of wanted) this.reserve(id, slots);
    return true;
  }

  /** Places a request on the pool (see `allocate`); does not reserve anything. */
  allocate(request: PlacementRequest, random?: RandomSource, options: Omit<AllocateOptions, 'random'> = {}): AllocationResult {
    validateRequest(request);
    return allocateSorted(request, this.bucket(request.model), { ...options, random });
  }
}
