import { formatDecimal, parseGpuModel, parseUsd } from '@idlegrid/domain';
import type { ClusterRequest, QuoteResponse } from '@idlegrid/protocol';
import type { AllocationResult, PlacementRequest } from '@idlegrid/scheduler';

/** The scheduler's request for an API cluster request (validates model and price). */
export function toPlacementRequest(r: ClusterRequest): PlacementRequest {
  return {
    model: parseGpuModel(r.gpu),
    count: r.count,
    regions: r.regions,
    minTier: r.minTier,
    maxPricePerGpuHour: r.maxPrice === undefined ? undefined : parseUsd(r.maxPrice),
    topology: r.topology,
    verifiedOnly: r.verifiedOnly,
    hours: r.hours,
  };
}

/** An alternative's request in API form: the buyer's request with the relaxed fields. */
function toClusterRequest(base: ClusterRequest, p: PlacementRequest): ClusterRequest {
  const { regions: _r, minTier: _t, maxPrice: _p, ...rest } = base;
  return {
    ...rest,
    count: p.count,
    verifiedOnly: p.verifiedOnly ?? false,
    ...(p.regions && p.regions.length > 0 ? { regions: [...p.regions] } : {}),
    ...(p.minTier ? { minTier: p.minTier } : {}),
    ...(p.maxPricePerGpuHour !== undefined ? { maxPrice: formatDecimal(p.maxPricePerGpuHour) } : {}),
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;

export function quoteView(request: ClusterRequest, result: AllocationResult): QuoteResponse {
  if (result.feasible) {
    return {
      feasible: true,
      request,
      gpuModel: result.request.model,
      devices: result.devices.map((d) => ({
        deviceId: d.deviceId,
        slots: d.slots,
        region: d.region,
        tier: d.tier,
        pricePerGpuHour: formatDecimal(d.pricePerGpuHour),
      })),
      slots: result.slots,
      regions: [...result.regions],
      estimatedRttMs: { max: round(result.maxRttMs), mean: round(result.meanRttMs) },
      pricePerHour: formatDecimal(result.pricePerHour),
      total: formatDecimal(result.totalPrice),
    };
  }
  return {
    feasible: false,
    request,
    reason: result.reason,
    stages: result.stages.map((s) => ({ stage: s.stage, remaining: s.remaining, devices: s.devices })),
    available: result.available,
    alternatives: result.alternatives.map((a) => ({
      change: a.change,
      summary: a.summary,
      request: toClusterRequest(request, a.request),
      pricePerHour: formatDecimal(a.pricePerHour),
      total: formatDecimal(a.totalPrice),
      estimatedMaxRttMs: round(a.maxRttMs),
    })),
  };
}
