import { IdlegridError, seededRandom, type RandomSource } from '@idlegrid/domain';
import { applyFilters, compareDevices, validateDevice, validateRequest } from './filters.ts';
import { buildPlacement, cheapestFirst } from './placement.ts';
import { DEFAULT_TIGHT_EFFORT, placeTight, type TightEffort } from './tight.ts';
import type { AllocationResult, Placement, PlacementRequest, PoolDevice } from './types.ts';
import { whyNot } from './why-not.ts';

/** Options of allocate / SlotPool.allocate. */
export interface AllocateOptions {
  /** Randomness for the tight heuristic's center sampling (default: a fixed seed, so results are deterministic). */
  readonly random?: RandomSource | undefined;
  /** Alternatives returned when the request does not fit (default 3). */
  readonly maxAlternatives?: number | undefined;
  /** Effort of the tight heuristic. */
  readonly effort?: TightEffort | undefined;
}

/** Seed used when the caller gives no RandomSource. */
export const DEFAULT_ALLOCATION_SEED = 0x1d1e;

function normalize(request: PlacementRequest): PlacementRequest {
  return { ...request, verifiedOnly: request.verifiedOnly ?? true };
}

/**
 * Places a validated request on the devices of its model that have free slots,
 * given in canonical order (compareDevices). Shared by `allocate` and `SlotPool`,
 * so both answer identically for the same devices.
 */
export function allocateSorted(
  request: PlacementRequest,
  modelDevices: readonly PoolDevice[],
  options: AllocateOptions = {},
): AllocationResult {
  const normalized = normalize(request);
  const outcome = applyFilters(normalized, modelDevices);
  if (outcome.available >= normalized.count) {
    const random = options.random ?? seededRandom(DEFAULT_ALLOCATION_SEED);
    const picks =
      normalized.topology === 'spread'
        ? cheapestFirst(outcome.candidates, normalized.count)
        : placeTight(outcome.candidates, normalized.count, random, options.effort ?? DEFAULT_TIGHT_EFFORT);
    return buildPlacement(normalized, picks);
  }
  const place = (alternative: PlacementRequest): Placement | null => {
    const result = allocateSorted(alternative, modelDevices, { ...options, maxAlternatives: 0 });
    return result.feasible ? result : null;
  };
  return whyNot(normalized, modelDevices, outcome, place, options.maxAlternatives ?? 3);
}

/**
 * Places `request` on `pool`: filters (model, region, min tier, max price,
 * verified), then `tight` (smallest estimated RTT diameter, ties by cost) or
 * `spread` (lowest price, ties by reputation). Never takes more than a device's free
 * slots and never uses a device twice. When the request cannot be met, returns why
 * (counts per filter stage) and up to 3 feasible alternatives. Deterministic for the
 * same pool (in any order) and random seed. Throws VALIDATION_FAILED for a malformed
 * request, device or a device id listed twice.
 */
export function allocate(
  request: PlacementRequest,
  pool: readonly PoolDevice[],
  options: AllocateOptions = {},
): AllocationResult {
  validateRequest(request);
  const ids = new Set<string>();
  const modelDevices: PoolDevice[] = [];
  for (const device of pool) {
    validateDevice(device);
    if (ids.has(device.deviceId)) {
      throw new IdlegridError('VALIDATION_FAILED', {
        where: 'pool',
        issues: [{ path: device.deviceId, message: 'device listed twice' }],
      });
    }
    ids.add(device.deviceId);
    if (device.model === request.model && device.freeSlots > 0) modelDevices.push(device);
  }
  modelDevices.sort(compareDevices);
  return allocateSorted(request, modelDevices, options);
}
