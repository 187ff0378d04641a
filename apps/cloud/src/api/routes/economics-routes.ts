import { formatDecimal, GPU_MODELS, parseGpuModelOrProductName, parseUsd, type Clock, type GpuModel, type MicroUsd } from '@idlegrid/domain';
import {
  checkParam, classWeightX10, estimateSupplier, formatParam, PARAM_NAMES, PARAM_SPECS, tierMultiplierX100, type ParamSpec,
} from '@idlegrid/economics';
import { estimateQuerySchema, estimateResponseSchema, paramsResponseSchema, type EstimateResponse, type ParamsResponse } from '@idlegrid/protocol';
import type { Store } from '@idlegrid/store';
import type { CloudConfig } from '../../config.ts';
import { ParamBook } from '../../economics/param-book.ts';
import type { DeviceRegistry, LiveDevice } from '../../live/device-registry.ts';
import type { ApiRouter } from '../router.ts';

/**
 * Read-only economics: the governable parameters in force (with the applied governance
 * history) and a supplier's expected daily earnings on the live network. Nothing here writes.
 */

export interface EconomicsDeps {
  config: CloudConfig;
  store: Store;
  clock: Clock;
  registry: DeviceRegistry;
  /** The parameters in force (default: the configuration's, plus the applied governance history). */
  book?: ParamBook;
}

/** Utilization is measured over the last hour. */
export const UTILIZATION_WINDOW_SECONDS = 3600;

/**
 * Power draw assumed per GPU slot when the query gives no `watts`: the board power (TDP) of each
 * model, rounded, so the host's draw is this × count (host CPU, fans and PSU losses are not
 * added: pass `watts` for a measured figure). `cpu` is a whole desktop-class CPU host.
 * H100 700, A100 400, L40S 350, RTX4090 450, RTX3090 350, cpu 65.
 */
export const DEFAULT_WATTS_PER_GPU: { readonly [M in GpuModel]: number } = {
  B200: 1000, H200: 700, GH200: 900, H100: 700, H800: 700,
  A100: 400, A800: 400,
  L40S: 350, L40: 300, L4: 72,
  RTX6000ADA: 300, A6000: 300, A40: 300, A10G: 150, A10: 150, V100: 300, T4: 70,
  RTX5090: 575, RTX4090: 450, RTX4080: 320, RTX3090: 350, RTX3080: 320,
  cpu: 65,
};

/** The base parameters (defaults overridden by the configuration); see ParamBook for the ones in force. */
export { paramsInForce } from '../../economics/param-book.ts';

export function paramsView(book: ParamBook): ParamsResponse {
  const params = book.current();
  return {
    params: PARAM_NAMES.map((name) => {
      const spec: ParamSpec = PARAM_SPECS[name];
      const value = params[name];
      return {
        name,
        kind: spec.kind,
        value: formatParam(name, value),
        default: formatParam(name, spec.default),
        min: formatParam(name, spec.min),
        max: formatParam(name, spec.max),
        unit: spec.unit,
        description: spec.description,
        source: book.source(name),
        inBounds: checkParam(name, value).ok,
      };
    }),
    history: book.history().map((c) => ({
      name: c.name, oldValue: c.oldValue, newValue: c.newValue, proposalId: c.proposalId, epochIndex: c.epochIndex, appliedAt: c.appliedAtMs,
    })),
  };
}

export function addEconomicsRoutes(router: ApiRouter, deps: EconomicsDeps): void {
  const book = deps.book ?? ParamBook.fromConfig(deps.config);

  router.add(
    {
      method: 'get',
      path: '/v1/params',
      summary:
        'Governable economic parameters in force, with defaults and bounds: protocol defaults overridden by this control plane\'s ' +
        'configuration (fees, reference price) and by applied governance proposals; `history` lists the applied changes, oldest first',
      tag: 'economics',
      auth: false,
      response: paramsResponseSchema,
    },
    async () => paramsView(await book.load(deps.store)),
  );

  router.add(
    {
      method: 'get',
      path: '/v1/estimate',
      summary:
        'Expected daily earnings of a supplier on the live network (online devices, last hour\'s utilization, parameters in force): ' +
        'IO and USD per day, power cost, profit, stake required',
      tag: 'economics',
      auth: false,
      query: estimateQuerySchema,
      response: estimateResponseSchema,
    },
    async ({ query }): Promise<EstimateResponse> => {
      const model = parseGpuModelOrProductName(query.gpu);
      const params = (await book.load(deps.store)).current();
      const nowMs = deps.clock.now();
      const online = [...deps.registry.online()];
      const network = networkFigures(online);
      const availableGpuSeconds = network.slots * UTILIZATION_WINDOW_SECONDS;
      const servedMs = await servedGpuMilliseconds(deps.store, nowMs - UTILIZATION_WINDOW_SECONDS * 1000, nowMs);
      const utilizationBps = availableGpuSeconds === 0 ? 0 : Math.min(10_000, Math.floor((servedMs * 10) / availableGpuSeconds));

      const watts = query.watts ?? DEFAULT_WATTS_PER_GPU[model] * query.count;
      const price = askingPrice(query.price, model, online);
      const estimate = estimateSupplier(
        { utilizationBps, gpusByModel: network.gpusByModel, params, epochSeconds: deps.config.epochSeconds, averageTierX100: network.averageTierX100 },
        { model, gpus: query.count, tier: query.tier, pricePerGpuHour: price.value, watts, usdPerKwh: parseUsd(query.powerCost) },
      );
      return {
        gpu: model,
        count: query.count,
        tier: query.tier,
        inputs: {
          powerCostUsdPerKwh: formatDecimal(parseUsd(query.powerCost)),
          watts,
          wattsSource: query.watts === undefined ? 'default' : 'query',
          pricePerGpuHour: formatDecimal(price.value),
          priceSource: price.source,
        },
        network: {
          models: network.models,
          devicesOnline: online.length,
          windowSeconds: UTILIZATION_WINDOW_SECONDS,
          servedGpuSeconds: servedMs / 1000,
          availableGpuSeconds,
          utilizationBps,
          epochSeconds: deps.config.epochSeconds,
          averageTierX100: network.averageTierX100,
          ioUsdPrice: formatDecimal(params.io_usd_reference_price),
        },
        estimate,
        profitable: !estimate.profit_usd_per_day.startsWith('-') && /[1-9]/.test(estimate.profit_usd_per_day),
      };
    },
  );
}


interface LiveNetwork {
  models: Array<{ gpuModel: GpuModel; devices: number; slots: number }>;
  gpusByModel: Partial<Record<GpuModel, number>>;
  slots: number;
  averageTierX100: number;
}

/** Online slots per model and the class-weighted mean tier multiplier of those slots (100 when none are online). */
export function networkFigures(online: readonly LiveDevice[]): LiveNetwork {
  const byModel = new Map<GpuModel, { devices: number; slots: number }>();
  let slots = 0;
  let weight = 0;
  let weightedTier = 0;
  for (const d of online) {
    const m = byModel.get(d.gpuModel) ?? { devices: 0, slots: 0 };
    m.devices += 1;
    m.slots += d.slots;
    byModel.set(d.gpuModel, m);
    slots += d.slots;
    const w = d.slots * classWeightX10(d.gpuModel);
    weight += w;
    weightedTier += w * tierMultiplierX100(d.tier);
  }
  const models = GPU_MODELS.flatMap((gpuModel) => {
    const m = byModel.get(gpuModel);
    return m ? [{ gpuModel, ...m }] : [];
  });
  return {
    models,
    gpusByModel: Object.fromEntries(models.map((m) => [m.gpuModel, m.slots])),
    slots,
    averageTierX100: weight === 0 ? 100 : Math.round(weightedTier / weight),
  };
}

/** The price asked: the query's, else the median (lower middle) of online devices of the model, else none (0). */
function askingPrice(text: string | undefined, model: GpuModel, online: readonly LiveDevice[]): { value: MicroUsd; source: 'query' | 'market_median' | 'none' } {
  if (text !== undefined) return { value: parseUsd(text), source: 'query' };
  const prices = online.filter((d) => d.gpuModel === model).map((d) => d.pricePerGpuHour).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const median = prices[Math.floor((prices.length - 1) / 2)];
  return median === undefined ? { value: parseUsd('0'), source: 'none' } : { value: median, source: 'market_median' };
}

const BATCH_PAGE = 100;

/**
 * GPU-milliseconds (ms × slots) metered inside [fromMs, toMs): every meter record's overlap with
 * the window, from the settlement batches cut after `fromMs` (a record ends at or before its
 * batch's cut-off, so older batches cannot overlap). Batches come newest first (`stl-<cutoffMs>`
 * ids); the scan stops at the first page with no batch in the window.
 */
export async function servedGpuMilliseconds(store: Store, fromMs: number, toMs: number): Promise<number> {
  let served = 0;
  let beforeId: string | undefined;
  for (;;) {
    const page = await store.settlement.listBatches({ limit: BATCH_PAGE, ...(beforeId !== undefined ? { beforeId } : {}) });
    let inWindow = false;
    for (const batch of page) {
      if (batch.cutoffMs <= fromMs) continue;
      inWindow = true;
      for (const r of await store.settlement.records(batch.id)) {
        const overlapMs = Math.min(r.toMs, toMs) - Math.max(r.fromMs, fromMs);
        if (overlapMs > 0) served += overlapMs * r.slots;
      }
    }
    const last = page[page.length - 1];
    if (!inWindow || page.length < BATCH_PAGE || last === undefined) return served;
    beforeId = last.id;
  }
}
