import { IdlegridError, isGpuModel, meetsTier, TIERS } from '@idlegrid/domain';
import type { PlacementRequest, PoolDevice, StageCount } from './types.ts';

/**
 * The canonical order of devices everywhere in the scheduler: price ascending,
 * reputation descending, device id ascending. It is a total order, so every index
 * (incremental or rebuilt) hands the placement code the same sequence.
 */
export function compareDevices(a: PoolDevice, b: PoolDevice): number {
  if (a.pricePerGpuHour !== b.pricePerGpuHour) return a.pricePerGpuHour < b.pricePerGpuHour ? -1 : 1;
  if (a.reputation !== b.reputation) return b.reputation - a.reputation;
  return a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;
}

function issue(path: string, message: string): { path: string; message: string } {
  return { path, message };
}

/** Throws VALIDATION_FAILED unless the request is well formed. */
export function validateRequest(request: PlacementRequest): void {
  const issues: Array<{ path: string; message: string }> = [];
  if (!isGpuModel(request.model)) issues.push(issue('model', `unknown GPU model ${String(request.model)}`));
  if (!Number.isSafeInteger(request.count) || request.count < 1) issues.push(issue('count', 'must be a positive integer'));
  if (!Number.isFinite(request.hours) || request.hours <= 0) issues.push(issue('hours', 'must be a positive number'));
  if (request.minTier !== undefined && !TIERS.includes(request.minTier)) issues.push(issue('minTier', 'unknown tier'));
  if (request.maxPricePerGpuHour !== undefined && request.maxPricePerGpuHour < 0n) {
    issues.push(issue('maxPricePerGpuHour', 'must not be negative'));
  }
  if (request.topology !== 'tight' && request.topology !== 'spread') issues.push(issue('topology', 'must be tight or spread'));
  if (issues.length > 0) throw new IdlegridError('VALIDATION_FAILED', { where: 'placement request', issues });
}

/** Throws VALIDATION_FAILED unless the pool entry is well formed. */
export function validateDevice(device: PoolDevice): void {
  const issues: Array<{ path: string; message: string }> = [];
  if (!isGpuModel(device.model)) issues.push(issue('model', `unknown GPU model ${String(device.model)}`));
  if (!Number.isSafeInteger(device.freeSlots) || device.freeSlots < 0) issues.push(issue('freeSlots', 'must be an integer ≥ 0'));
  if (device.pricePerGpuHour < 0n) issues.push(issue('pricePerGpuHour', 'must not be negative'));
  if (!TIERS.includes(device.tier)) issues.push(issue('tier', 'unknown tier'));
  if (!(device.reputation >= 0 && device.reputation <= 1000)) issues.push(issue('reputation', 'must be within 0–1000'));
  const c = device.coordinate;
  if (!Number.isFinite(c.x) || !Number.isFinite(c.y) || !Number.isFinite(c.h) || c.h < 0) {
    issues.push(issue('coordinate', 'x, y must be finite and h ≥ 0'));
  }
  if (issues.length > 0) throw new IdlegridError('VALIDATION_FAILED', { where: `pool device ${device.deviceId}`, issues });
}

/** Which filter (by stage) a device fails first, or null when it passes them all. */
export function firstFailedStage(
  device: PoolDevice,
  request: PlacementRequest,
): 'model' | 'region' | 'tier' | 'price' | 'verified' | null {
  if (device.model !== request.model || device.freeSlots <= 0) return 'model';
  if (request.regions && request.regions.length > 0 && !request.regions.includes(device.region)) return 'region';
  if (request.minTier !== undefined && !meetsTier(device.tier, request.minTier)) return 'tier';
  if (request.maxPricePerGpuHour !== undefined && device.pricePerGpuHour > request.maxPricePerGpuHour) return 'price';
  if ((request.verifiedOnly ?? true) && !device.verified) return 'verified';
  return null;
}

/** True when a device (with free slots) passes every filter of the request. */
export function passesFilters(device: PoolDevice, request: PlacementRequest): boolean {
  return firstFailedStage(device, request) === null;
}

/** Filtered candidates (in input order) and the per-stage counts. */
export interface FilterOutcome {
  readonly candidates: PoolDevice[];
  readonly stages: StageCount[];
  /** Free slots over all candidates. */
  readonly available: number;
}

const STAGE_INDEX = { model: 0, region: 1, tier: 2, price: 3, verified: 4 } as const;

/**
 * Applies the filters in stage order to devices that already match the model (or
 * not: they are then dropped at the model stage) and counts what survives each stage.
 */
export function applyFilters(request: PlacementRequest, devices: readonly PoolDevice[]): FilterOutcome {
  // failedAt[k] = slots/devices that fail first at stage k; everything else passes.
  const failedSlots = [0, 0, 0, 0, 0];
  const failedDevices = [0, 0, 0, 0, 0];
  let totalSlots = 0;
  let totalDevices = 0;
  const candidates: PoolDevice[] = [];
  let available = 0;
  for (const d of devices) {
    if (d.freeSlots <= 0) continue;
    totalSlots += d.freeSlots;
    totalDevices++;
    const failed = firstFailedStage(d, request);
    if (failed === null) {
      candidates.push(d);
      available += d.freeSlots;
    } else {
      const k = STAGE_INDEX[failed];
      failedSlots[k] = (failedSlots[k] ?? 0) + d.freeSlots;
      failedDevices[k] = (failedDevices[k] ?? 0) + 1;
    }
  }
  const stages: StageCount[] = [];
  let slots = totalSlots;
  let count = totalDevices;
  (['model', 'region', 'tier', 'price', 'verified'] as const).forEach((stage, k) => {
    slots -= failedSlots[k] ?? 0;
    count -= failedDevices[k] ?? 0;
    stages.push({ stage, remaining: slots, devices: count });
  });
  stages.push({ stage: 'count', remaining: available, devices: candidates.length });
  return { candidates, stages, available };
}
