import { formatDecimal, meetsTier, parseGpuModel, parseUsd, type GpuModel, type RegionId } from '@idlegrid/domain';
import { supplyQuerySchema, supplyResponseSchema, type SupplyResponse } from '@idlegrid/protocol';
import type { DeviceRegistry, LiveDevice } from '../../live/device-registry.ts';
import { liveDeviceView } from '../device-view.ts';
import type { ApiRouter } from '../router.ts';

export function addSupplyRoutes(router: ApiRouter, registry: DeviceRegistry): void {
  router.add(
    {
      method: 'get',
      path: '/v1/supply',
      summary: 'GPU slots available now (verified devices only), grouped by model and region, with the devices behind them',
      tag: 'supply',
      auth: false,
      query: supplyQuerySchema,
      response: supplyResponseSchema,
    },
    ({ query }) => {
      const model = query.gpu === undefined ? undefined : parseGpuModel(query.gpu);
      const maxPrice = query.maxPrice === undefined ? undefined : parseUsd(query.maxPrice);
      const regions = query.region && query.region.length > 0 ? new Set<string>(query.region) : undefined;
      const matches: LiveDevice[] = [];
      for (const d of registry.online()) {
        // Pending (not yet verified) and suspended devices are not supply.
        if (!d.verified) continue;
        if (model !== undefined && d.gpuModel !== model) continue;
        if (regions && !regions.has(d.region)) continue;
        if (query.minTier && !meetsTier(d.tier, query.minTier)) continue;
        if (maxPrice !== undefined && d.pricePerGpuHour > maxPrice) continue;
        matches.push(d);
      }
      return summarize(matches, query.limit);
    },
  );
}

/** Cheapest first; equal prices by id (plain code-unit order: ids are base58, and localeCompare is slow on 20,000 devices). */
function byPriceThenId(a: LiveDevice, b: LiveDevice): number {
  if (a.pricePerGpuHour !== b.pricePerGpuHour) return a.pricePerGpuHour < b.pricePerGpuHour ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Groups and totals over every match; device views (the costly part to build and send) for the cheapest `limit`. */
function summarize(devices: LiveDevice[], limit: number): SupplyResponse {
  const groups = new Map<string, { gpuModel: GpuModel; region: RegionId; devices: number; freeSlots: number; min: bigint; max: bigint }>();
  let freeSlots = 0;
  for (const d of devices) {
    const key = `${d.gpuModel}/${d.region}`;
    const g = groups.get(key) ?? { gpuModel: d.gpuModel, region: d.region, devices: 0, freeSlots: 0, min: d.pricePerGpuHour, max: d.pricePerGpuHour };
    g.devices += 1;
    g.freeSlots += d.slots;
    if (d.pricePerGpuHour < g.min) g.min = d.pricePerGpuHour;
    if (d.pricePerGpuHour > g.max) g.max = d.pricePerGpuHour;
    groups.set(key, g);
    freeSlots += d.slots;
  }
  return {
    groups: [...groups.values()]
      .sort((a, b) => a.gpuModel.localeCompare(b.gpuModel) || a.region.localeCompare(b.region))
      .map((g) => ({
        gpuModel: g.gpuModel,
        region: g.region,
        devices: g.devices,
        freeSlots: g.freeSlots,
        minPricePerGpuHour: formatDecimal(g.min),
        maxPricePerGpuHour: formatDecimal(g.max),
      })),
    devices: cheapest(devices, limit).map(liveDeviceView),
    totals: { devices: devices.length, freeSlots },
  };
}

function cheapest(devices: LiveDevice[], limit: number): LiveDevice[] {
  return devices.sort(byPriceThenId).slice(0, limit);
}
