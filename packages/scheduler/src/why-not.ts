import { formatDecimal, isRegionId, microUsd, regionInfo, REGIONS, TIERS, tierRank, type RegionId } from '@idlegrid/domain';
import { firstFailedStage, type FilterOutcome } from './filters.ts';
import { greatCircleKm } from './geo.ts';
import type {
  Alternative, AlternativeChange, Infeasible, Placement, PlacementRequest, PoolDevice, StageCount,
} from './types.ts';

interface Candidate {
  readonly change: AlternativeChange;
  readonly summary: string;
  readonly request: PlacementRequest;
  /** Smaller is nearer to what the buyer asked for. */
  readonly distance: number;
}

/** Free slots among `devices` that pass every filter of `request`. */
function slotsPassing(request: PlacementRequest, devices: readonly PoolDevice[]): number {
  let slots = 0;
  for (const d of devices) if (firstFailedStage(d, request) === null) slots += d.freeSlots;
  return slots;
}

function priceAlternative(request: PlacementRequest, devices: readonly PoolDevice[]): Candidate | null {
  const cap = request.maxPricePerGpuHour;
  if (cap === undefined) return null;
  const relaxed: PlacementRequest = { ...request, maxPricePerGpuHour: undefined };
  let slots = 0;
  // Devices are in canonical order (cheapest first): the device that completes the count sets the price.
  for (const d of devices) {
    if (firstFailedStage(d, relaxed) !== null) continue;
    slots += d.freeSlots;
    if (slots >= request.count) {
      const price = d.pricePerGpuHour;
      if (price <= cap) return null;
      const ratio = cap === 0n ? 1 : Number((price * 1000n) / cap) / 1000 - 1;
      return {
        change: 'price',
        summary: `raise the max price to ${formatDecimal(price)} USD per GPU-hour`,
        request: { ...request, maxPricePerGpuHour: price },
        distance: ratio,
      };
    }
  }
  return null;
}

function tierAlternative(request: PlacementRequest, devices: readonly PoolDevice[]): Candidate | null {
  if (request.minTier === undefined) return null;
  const rank = tierRank(request.minTier);
  for (let t = rank - 1; t >= 0; t--) {
    const tier = TIERS[t];
    if (tier === undefined) continue;
    const alternative: PlacementRequest = { ...request, minTier: tier };
    if (slotsPassing(alternative, devices) >= request.count) {
      return { change: 'tier', summary: `accept tier ${tier} and above`, request: alternative, distance: 0.25 * (rank - t) };
    }
  }
  return null;
}

function km(a: RegionId, b: RegionId): number {
  if (a === 'local' || b === 'local') return 40_000;
  return greatCircleKm(regionInfo(a), regionInfo(b));
}

function regionAlternative(request: PlacementRequest, devices: readonly PoolDevice[]): Candidate | null {
  const wanted = (request.regions ?? []).filter(isRegionId);
  if (!request.regions || request.regions.length === 0) return null;
  const present = new Set(devices.map((d) => d.region));
  const others = REGIONS.map((r) => r.id)
    .filter((id) => present.has(id) && !request.regions?.includes(id))
    .map((id) => ({ id, km: wanted.length === 0 ? 0 : Math.min(...wanted.map((w) => km(w, id))) }))
    .sort((a, b) => a.km - b.km || (a.id < b.id ? -1 : 1));
  const added: RegionId[] = [];
  for (const other of others) {
    added.push(other.id);
    const alternative: PlacementRequest = { ...request, regions: [...request.regions, ...added] };
    if (slotsPassing(alternative, devices) >= request.count) {
      return {
        change: 'region',
        summary: `also allow region${added.length > 1 ? 's' : ''} ${added.join(', ')}`,
        request: alternative,
        distance: 0.15 * added.length + other.km / 20_000,
      };
    }
  }
  return null;
}

function verifiedAlternative(request: PlacementRequest, devices: readonly PoolDevice[]): Candidate | null {
  if (request.verifiedOnly === false) return null;
  const alternative: PlacementRequest = { ...request, verifiedOnly: false };
  if (slotsPassing(alternative, devices) < request.count) return null;
  return { change: 'verified', summary: 'include devices whose hardware is not verified yet', request: alternative, distance: 0.8 };
}

function countAlternative(request: PlacementRequest, available: number): Candidate | null {
  if (available < 1) return null;
  return {
    change: 'count',
    summary: `take ${available} GPUs instead of ${request.count}`,
    request: { ...request, count: available },
    distance: 1 - available / request.count,
  };
}

/** Drops region, tier and price limits (then the verified filter, then GPUs) until something fits. */
function combinedAlternative(request: PlacementRequest, devices: readonly PoolDevice[]): Candidate | null {
  const dropped = [
    request.regions && request.regions.length > 0 ? 'region' : null,
    request.minTier !== undefined ? 'tier' : null,
    request.maxPricePerGpuHour !== undefined ? 'price' : null,
  ].filter((d): d is string => d !== null);
  const open: PlacementRequest = { ...request, regions: undefined, minTier: undefined, maxPricePerGpuHour: undefined };
  const parts = dropped.length > 0 ? [`drop the ${dropped.join(' and ')} limit${dropped.length > 1 ? 's' : ''}`] : [];
  let alternative = open;
  let slots = slotsPassing(alternative, devices);
  if (slots < request.count && (request.verifiedOnly ?? true)) {
    const unverified: PlacementRequest = { ...open, verifiedOnly: false };
    const more = slotsPassing(unverified, devices);
    if (more > slots) {
      alternative = unverified;
      slots = more;
      parts.push('include unverified devices');
    }
  }
  // Without a relaxed filter this would only repeat the "fewer GPUs" alternative.
  if (slots < 1 || parts.length === 0) return null;
  if (slots < request.count) {
    alternative = { ...alternative, count: slots };
    parts.push(`take ${slots} GPUs`);
  }
  return { change: 'combined', summary: parts.join(', '), request: alternative, distance: 2 + (1 - Math.min(1, slots / request.count)) };
}

function explain(request: PlacementRequest, stages: readonly StageCount[], available: number): string {
  const modelSlots = stages[0]?.remaining ?? 0;
  if (modelSlots === 0) return `no free ${request.model} slots in the pool`;
  if (modelSlots < request.count) {
    return `the pool has only ${modelSlots} free ${request.model} slots (${request.count} requested); ${available} pass the filters`;
  }
  let worst = '';
  let worstDrop = -1;
  let previous = modelSlots;
  for (const s of stages.slice(1, 5)) {
    if (previous - s.remaining > worstDrop) {
      worstDrop = previous - s.remaining;
      worst = s.stage;
    }
    previous = s.remaining;
  }
  const tail = worstDrop > 0 ? `; the ${worst} filter removed the most (${worstDrop} slots)` : '';
  return `only ${available} of ${request.count} ${request.model} slots pass the filters${tail}`;
}

/**
 * Builds the why-not answer for a request that does not fit: stage counts, a reason
 * and up to `maxAlternatives` nearest alternatives, each proven feasible by placing
 * it with `place` (same pool, same algorithm).
 */
export function whyNot(
  request: PlacementRequest,
  modelDevices: readonly PoolDevice[],
  outcome: FilterOutcome,
  place: (alternative: PlacementRequest) => Placement | null,
  maxAlternatives = 3,
): Infeasible {
  const singles = [
    regionAlternative(request, modelDevices),
    tierAlternative(request, modelDevices),
    priceAlternative(request, modelDevices),
    verifiedAlternative(request, modelDevices),
  ].filter((c): c is Candidate => c !== null);
  const candidates = [...singles, countAlternative(request, outcome.available)];
  if (singles.length === 0) candidates.push(combinedAlternative(request, modelDevices));
  const order: AlternativeChange[] = ['count', 'price', 'tier', 'region', 'verified', 'combined'];
  const ranked = candidates
    .filter((c): c is Candidate => c !== null)
    .sort((a, b) => a.distance - b.distance || order.indexOf(a.change) - order.indexOf(b.change));
  const alternatives: Alternative[] = [];
  for (const c of ranked) {
    if (alternatives.length >= maxAlternatives) break;
    const placed = place(c.request);
    if (!placed) continue;
    alternatives.push({
      change: c.change,
      summary: c.summary,
      request: c.request,
      pricePerHour: microUsd(placed.pricePerHour),
      totalPrice: placed.totalPrice,
      maxRttMs: placed.maxRttMs,
    });
  }
  return {
    feasible: false,
    request,
    stages: outcome.stages,
    available: outcome.available,
    reason: explain(request, outcome.stages, outcome.available),
    alternatives,
  };
}
