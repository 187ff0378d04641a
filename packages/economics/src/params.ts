import { formatDecimal, IdlegridError, microIo, microUsd, parseDecimal, type MicroIo, type MicroUsd } from '@idlegrid/domain';

/**
 * The governable parameters of DESIGN's economics table: ONE table of every parameter with
 * its default, bounds, unit and meaning. Keys are the parameter names exactly as DESIGN,
 * governance proposals and the CLI spell them (snake_case).
 *
 * Kinds and their value types:
 * - `bps`: basis points, a `number` integer (10000 = 100 %);
 * - `hours`: a `number` integer;
 * - `micro_io`: IO base units (`MicroIo`, bigint, 6 decimals);
 * - `micro_usd`: USD in millionths (`MicroUsd`, bigint).
 *
 * Bounds are inclusive. Why they are where they are is written next to each one: wide
 * enough for governance to steer, narrow enough that one vote cannot break the system
 * (a zero price, a 100 % fee, a stake that can be withdrawn before fraud is found).
 */
export interface Params {
  readonly protocol_fee_bps: number;
  readonly fee_burn_share_bps: number;
  readonly usdc_conversion_fee_bps: number;
  readonly io_usd_reference_price: MicroUsd;
  readonly emission_max_per_epoch: MicroIo;
  readonly emission_floor_bps: number;
  readonly stipend_share_bps: number;
  readonly stake_per_gpu: MicroIo;
  readonly unstake_cooldown_hours: number;
  readonly slash_abandon_bps: number;
  readonly slash_fraud_bps: number;
}

export type ParamName = keyof Params;
export type ParamKind = 'bps' | 'hours' | 'micro_io' | 'micro_usd';

/** One row of the table. `V` is the parameter's value type. */
export interface ParamSpec<V extends number | bigint = number | bigint> {
  readonly name: ParamName;
  readonly kind: ParamKind;
  readonly default: V;
  readonly min: V;
  readonly max: V;
  /** Human unit, for CLI and docs ("bps", "IO", "USD per IO", "hours"). */
  readonly unit: string;
  readonly description: string;
}

type SpecTable = { readonly [N in ParamName]: ParamSpec<Params[N]> };

const IO = 1_000_000n;

/** The table. Order is DESIGN's order. */
export const PARAM_SPECS: SpecTable = {
  protocol_fee_bps: {
    name: 'protocol_fee_bps', kind: 'bps', default: 250, min: 0, max: 5_000, unit: 'bps',
    description: 'Share of every supplier payout kept as the protocol fee. At most 50 % (the control plane config allows the same range).',
  },
  fee_burn_share_bps: {
    name: 'fee_burn_share_bps', kind: 'bps', default: 5_000, min: 0, max: 10_000, unit: 'bps',
    description: 'Share of the protocol fee that is burned (SPL burn); the rest goes to treasury. Any split is sound.',
  },
  usdc_conversion_fee_bps: {
    name: 'usdc_conversion_fee_bps', kind: 'bps', default: 200, min: 0, max: 1_000, unit: 'bps',
    description: 'Fee on converting a USDC deposit to IO at the reference price. At most 10 %: above that, paying in USDC stops making sense.',
  },
  io_usd_reference_price: {
    name: 'io_usd_reference_price', kind: 'micro_usd', default: microUsd(1_000_000n), min: microUsd(100n), max: microUsd(10_000n * IO),
    unit: 'USD per IO',
    description: 'USD value of one IO used for USDC conversion and USD-priced leases (1.00 on the embedded network). From 0.0001 to 10,000 USD: never zero, which would make every lease free.',
  },
  emission_max_per_epoch: {
    name: 'emission_max_per_epoch', kind: 'micro_io', default: microIo(100_000n * IO), min: microIo(0n), max: microIo(1_000_000n * IO),
    unit: 'IO',
    description: 'IO minted per epoch at full utilization. 0 turns emissions off; at most 10× the default, so one vote cannot flood the supply.',
  },
  emission_floor_bps: {
    name: 'emission_floor_bps', kind: 'bps', default: 2_000, min: 0, max: 10_000, unit: 'bps',
    description: 'Share of the maximum emission minted even when the network is idle (utilization 0).',
  },
  stipend_share_bps: {
    name: 'stipend_share_bps', kind: 'bps', default: 4_000, min: 0, max: 10_000, unit: 'bps',
    description: 'Share of each epoch emission paid as the base stipend for being available; the rest is the usage bonus.',
  },
  stake_per_gpu: {
    name: 'stake_per_gpu', kind: 'micro_io', default: microIo(200n * IO), min: microIo(1n * IO), max: microIo(100_000n * IO),
    unit: 'IO',
    description: 'Stake required per GPU slot before the class multiplier (see stakeRequirement). At least 1 IO so a stake always exists to slash; at most 500× the default.',
  },
  unstake_cooldown_hours: {
    name: 'unstake_cooldown_hours', kind: 'hours', default: 336, min: 24, max: 2_160, unit: 'hours',
    description: 'Hours between an unstake request and the withdrawal, during which the stake can still be slashed. 1 to 90 days: long enough to catch fraud, short enough to leave.',
  },
  slash_abandon_bps: {
    name: 'slash_abandon_bps', kind: 'bps', default: 500, min: 0, max: 5_000, unit: 'bps',
    description: 'Share of a device stake slashed for abandoning a running lease (node lost, not released). At most 50 %: a power cut is not fraud.',
  },
  slash_fraud_bps: {
    name: 'slash_fraud_bps', kind: 'bps', default: 10_000, min: 1_000, max: 10_000, unit: 'bps',
    description: 'Share of a device stake slashed for a failed or forged verification. At least 10 %: forging must never be cheap.',
  },
};

/** Parameter names in the table's order. */
export const PARAM_NAMES: readonly ParamName[] = Object.keys(PARAM_SPECS) as ParamName[];

/** Every parameter at its default. */
export const DEFAULT_PARAMS: Params = Object.freeze(
  Object.fromEntries(PARAM_NAMES.map((n) => [n, PARAM_SPECS[n].default])) as unknown as Params,
);

export function isParamName(name: string): name is ParamName {
  return Object.prototype.hasOwnProperty.call(PARAM_SPECS, name);
}

/** The verdict of `checkParam`: ok, or why not. */
export type ParamCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Checks one proposed value: a known name, the right type (integer `number` for bps and
 * hours, `bigint` base units for IO and USD) and within [min, max].
 */
export function checkParam(name: string, value: unknown): ParamCheck {
  if (!isParamName(name)) return { ok: false, reason: `unknown parameter; known: ${PARAM_NAMES.join(', ')}` };
  const spec: ParamSpec = PARAM_SPECS[name];
  const money = spec.kind === 'micro_io' || spec.kind === 'micro_usd';
  if (money ? typeof value !== 'bigint' : typeof value !== 'number' || !Number.isInteger(value)) {
    return { ok: false, reason: money ? 'expected bigint base units' : 'expected an integer' };
  }
  const v = value as number | bigint;
  if (v < spec.min || v > spec.max) {
    return { ok: false, reason: `must be from ${formatParam(name, spec.min)} to ${formatParam(name, spec.max)} ${spec.unit}, got ${formatParam(name, v)}` };
  }
  return { ok: true };
}

/** Like `checkParam`, but throws `IdlegridError('VALIDATION_FAILED')` on a bad value. */
export function assertParam<N extends ParamName>(name: N, value: unknown): asserts value is Params[N];
export function assertParam(name: string, value: unknown): void;
export function assertParam(name: string, value: unknown): void {
  const check = checkParam(name, value);
  if (!check.ok) throw new IdlegridError('VALIDATION_FAILED', { where: 'governance parameter', issues: [{ path: name, message: check.reason }] });
}

/**
 * A copy of `params` with `name` set to `value`; refuses (VALIDATION_FAILED) an unknown
 * name, a wrong type or a value out of bounds. The input is not changed.
 */
export function applyChange<N extends ParamName>(params: Params, name: N, value: Params[N]): Params;
export function applyChange(params: Params, name: string, value: unknown): Params;
export function applyChange(params: Params, name: string, value: unknown): Params {
  assertParam(name, value);
  return Object.freeze({ ...params, [name]: value });
}

/** Checks every parameter of a full set (e.g. one loaded from storage); throws VALIDATION_FAILED listing all bad ones. */
export function validateParams(params: Params): Params {
  const issues = PARAM_NAMES.flatMap((n) => {
    const check = checkParam(n, params[n]);
    return check.ok ? [] : [{ path: n, message: check.reason }];
  });
  if (issues.length > 0) throw new IdlegridError('VALIDATION_FAILED', { where: 'governance parameters', issues });
  return params;
}

/**
 * Parses a value as a person types it: "250" for bps and hours, a decimal such as "1.25"
 * for IO and USD (6 decimals). Bounds are not checked here (use assertParam / applyChange).
 */
export function parseParamValue(name: string, text: string): number | bigint {
  if (!isParamName(name)) {
    throw new IdlegridError('VALIDATION_FAILED', { where: 'governance parameter', issues: [{ path: name, message: `unknown parameter; known: ${PARAM_NAMES.join(', ')}` }] });
  }
  const kind = PARAM_SPECS[name].kind;
  if (kind === 'micro_io' || kind === 'micro_usd') return parseDecimal(text);
  if (!/^\d{1,9}$/.test(text.trim())) {
    throw new IdlegridError('VALIDATION_FAILED', { where: 'governance parameter', issues: [{ path: name, message: `expected a non-negative integer, got ${JSON.stringify(text)}` }] });
  }
  return Number(text.trim());
}

/** Formats a value the way `parseParamValue` reads it ("1.25" for IO/USD, "250" otherwise). */
export function formatParam(name: ParamName, value: number | bigint): string {
  return typeof value === 'bigint' && (PARAM_SPECS[name].kind === 'micro_io' || PARAM_SPECS[name].kind === 'micro_usd')
    ? formatDecimal(value)
    : value.toString();
}
