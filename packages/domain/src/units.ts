import type { Brand } from './brand.ts';
import { IdlegridError } from './errors.ts';

/** IO in base units (6 decimals): 1 IO = 1_000_000n. */
export type MicroIo = Brand<bigint, 'MicroIo'>;
/** US dollars in millionths: 1 USD = 1_000_000n. Prices are MicroUsd per GPU-hour. */
export type MicroUsd = Brand<bigint, 'MicroUsd'>;

export const DECIMALS = 6;
const SCALE = 10n ** BigInt(DECIMALS);
const DECIMAL = /^(\d{1,18})(?:\.(\d{1,6}))?$/;

/** Parses a non-negative decimal string with at most 6 fraction digits into base units. */
export function parseDecimal(text: string): bigint {
  const m = DECIMAL.exec(text.trim());
  if (!m) {
    throw new IdlegridError('INVALID_AMOUNT', {
      value: text,
      reason: 'expected a non-negative decimal with at most 6 fraction digits, e.g. 1.25',
    });
  }
  const whole = BigInt(m[1] ?? '0');
  const fraction = BigInt((m[2] ?? '').padEnd(DECIMALS, '0'));
  return whole * SCALE + fraction;
}

/** Formats base units as a decimal string, trimming trailing zeros (1_250_000n → "1.25"). */
export function formatDecimal(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = abs / SCALE;
  const fraction = (abs % SCALE).toString().padStart(DECIMALS, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

export function microUsd(value: bigint): MicroUsd {
  return value as MicroUsd;
}

export function microIo(value: bigint): MicroIo {
  return value as MicroIo;
}

export function parseUsd(text: string): MicroUsd {
  return microUsd(parseDecimal(text));
}

export function parseIo(text: string): MicroIo {
  return microIo(parseDecimal(text));
}

export interface UsdcConversion {
  /** IO base units the USDC buys at the reference price. */
  readonly gross: MicroIo;
  /** The conversion fee (`feeBps` of gross, rounded up), in IO base units. */
  readonly fee: MicroIo;
  /** gross − fee: what is credited. */
  readonly credited: MicroIo;
}

/**
 * Converts a USDC amount (base units = MicroUsd) to IO at `ioUsdPrice` (MicroUsd per IO) minus
 * `feeBps` basis points. Exact bigint math: gross rounds down, the fee rounds up.
 */
export function convertUsdcToIo(usdc: bigint, ioUsdPrice: MicroUsd, feeBps: number): UsdcConversion {
  if (usdc < 0n) throw new RangeError('usdc must be non-negative');
  if (ioUsdPrice <= 0n) throw new RangeError('the IO reference price must be positive');
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10_000) throw new RangeError('feeBps must be an integer from 0 to 10000');
  const gross = (usdc * SCALE) / ioUsdPrice;
  const bps = BigInt(feeBps);
  const fee = (gross * bps + 9_999n) / 10_000n;
  return { gross: microIo(gross), fee: microIo(fee), credited: microIo(gross - fee) };
}

/**
 * USD (MicroUsd) to IO base units at `ioUsdPrice` (MicroUsd per IO). Settlement charges round
 * down (nobody pays for a fraction it cannot see); reservations round up (escrow always covers).
 */
export function usdToIo(usd: bigint, ioUsdPrice: MicroUsd, rounding: 'down' | 'up'): MicroIo {
  if (usd < 0n) throw new RangeError('usd must be non-negative');
  if (ioUsdPrice <= 0n) throw new RangeError('the IO reference price must be positive');
  const scaled = usd * SCALE;
  return microIo(rounding === 'down' ? scaled / ioUsdPrice : (scaled + ioUsdPrice - 1n) / ioUsdPrice);
}
