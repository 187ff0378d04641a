/**
 * Small exact-arithmetic helpers shared by the economics modules: basis points, parts per
 * million, input checks. Everything is integer math; invalid arguments are programmer
 * errors (RangeError), never user-facing ones.
 */

/** 100 % in basis points. */
export const BPS_DENOMINATOR = 10_000;
/** 100 % in parts per million. */
export const PPM = 1_000_000;
export const BPS_DENOMINATOR_N = 10_000n;
export const PPM_N = 1_000_000n;

/** Throws a RangeError unless `value` is a safe integer ≥ 0. */
export function assertCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
}

/** Throws a RangeError unless `value` is an integer from 0 to 10000. */
export function assertBps(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > BPS_DENOMINATOR) {
    throw new RangeError(`${what} must be an integer from 0 to 10000 basis points, got ${value}`);
  }
}

/** Throws a RangeError unless `value` is an integer from 0 to 1,000,000 ppm. */
export function assertPpm(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > PPM) {
    throw new RangeError(`${what} must be an integer from 0 to 1000000 ppm, got ${value}`);
  }
}

/** Throws a RangeError unless `value` ≥ 0n. */
export function assertNonNegative(value: bigint, what: string): void {
  if (value < 0n) throw new RangeError(`${what} must be non-negative, got ${value}`);
}

/** `amount × bps / 10000`, rounded down. */
export function applyBps(amount: bigint, bps: number): bigint {
  return (amount * BigInt(bps)) / BPS_DENOMINATOR_N;
}

/** ⌈a / b⌉ for a ≥ 0, b > 0. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/**
 * `part / whole` in ppm, rounded down and capped at 1,000,000. `whole` = 0 gives `whenEmpty`:
 * the caller decides what "no data yet" means (see reputation.ts).
 */
export function ratioPpm(part: number, whole: number, whenEmpty: number): number {
  assertCount(part, 'part');
  assertCount(whole, 'whole');
  assertPpm(whenEmpty, 'whenEmpty');
  if (whole === 0) return whenEmpty;
  if (part >= whole) return PPM;
  return Number((BigInt(part) * PPM_N) / BigInt(whole));
}
