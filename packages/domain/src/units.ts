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
