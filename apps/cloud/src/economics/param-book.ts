import { parseUsd } from '@idlegrid/domain';
import { applyChange, DEFAULT_PARAMS, parseParamValue, type ParamName, type Params } from '@idlegrid/economics';
import type { ParamChangeRecord, Store } from '@idlegrid/store';
import type { CloudConfig } from '../config.ts';

/** Parameters this control plane's configuration sets (the rest start at protocol defaults). */
export const CONFIGURED_PARAMS: ReadonlySet<ParamName> = new Set<ParamName>(['protocol_fee_bps', 'fee_burn_share_bps', 'usdc_conversion_fee_bps', 'io_usd_reference_price']);

/**
 * The base parameters before governance: DEFAULT_PARAMS overridden by the control plane's
 * configuration where it has the same setting.
 */
export function paramsInForce(config: CloudConfig): Params {
  return Object.freeze({
    ...DEFAULT_PARAMS,
    protocol_fee_bps: config.protocolFeeBps,
    fee_burn_share_bps: config.feeBurnShareBps,
    usdc_conversion_fee_bps: config.usdcConversionFeeBps,
    io_usd_reference_price: parseUsd(config.ioUsdReferencePrice),
  });
}

/** `base` with every applied change replayed in order (each checked against the bounds again). */
export function replayChanges(base: Params, changes: readonly Pick<ParamChangeRecord, 'name' | 'newValue'>[]): Params {
  return changes.reduce<Params>((params, c) => applyChange(params, c.name, parseParamValue(c.name, c.newValue)), base);
}

export type ParamSource = 'default' | 'config' | 'governance';

/**
 * The parameters in force: the config-derived base plus every applied `param_changes` row
 * (governance). `load(store)` re-reads the history; call it after a transaction that applied
 * proposals has committed (GET /v1/params reloads it on each request).
 */
export class ParamBook {
  private changes: readonly ParamChangeRecord[] = [];
  private params: Params;

  constructor(readonly base: Params) {
    this.params = base;
  }

  static fromConfig(config: CloudConfig): ParamBook {
    return new ParamBook(paramsInForce(config));
  }

  async load(store: Store): Promise<this> {
    const changes = await store.governance.paramChanges();
    this.params = replayChanges(this.base, changes);
    this.changes = changes;
    return this;
  }

  current(): Params {
    return this.params;
  }

  /** Applied changes, oldest first. */
  history(): readonly ParamChangeRecord[] {
    return this.changes;
  }

  source(name: ParamName): ParamSource {
    if (this.changes.some((c) => c.name === name)) return 'governance';
    return CONFIGURED_PARAMS.has(name) ? 'config' : 'default';
  }
}
