import { compareDevices } from './filters.ts';
import type { PoolDevice } from './types.ts';

/**
 * Devices kept in canonical order (price, reputation, id) by binary search:
 * O(log n) to find, O(n) memmove to insert or delete (fast at 10⁵ devices).
 */
export class SortedDevices {
  private readonly items: PoolDevice[] = [];
  private slotTotal = 0;

  get length(): number {
    return this.items.length;
  }

  /** Free slots over all devices held. */
  get slots(): number {
    return this.slotTotal;
  }

  /** The devices in canonical order (read-only view; do not mutate). */
  get view(): readonly PoolDevice[] {
    return this.items;
  }

  /** Position of `device` (by its sort key), or the insertion point as −(point + 1). */
  private search(device: PoolDevice): number {
    let lo = 0;
    let hi = this.items.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const item = this.items[mid];
      const c = item ? compareDevices(item, device) : 1;
      if (c < 0) lo = mid + 1;
      else if (c > 0) hi = mid - 1;
      else return mid;
    }
    return -(lo + 1);
  }

  /** Inserts a device, or replaces the entry with the same sort key. */
  put(device: PoolDevice): void {
    const at = this.search(device);
    if (at >= 0) {
      this.slotTotal -= this.items[at]?.freeSlots ?? 0;
      this.items[at] = device;
    } else {
      this.items.splice(-at - 1, 0, device);
    }
    this.slotTotal += device.freeSlots;
  }

  /** Removes the entry with the same sort key as `device`; true when one was there. */
  delete(device: PoolDevice): boolean {
    const at = this.search(device);
    if (at < 0) return false;
    this.slotTotal -= this.items[at]?.freeSlots ?? 0;
    this.items.splice(at, 1);
    return true;
  }
}
