import { describe, expect, it } from 'vitest';
import {
  base58Decode, base58Encode, formatDecimal, IdlegridError, isAddress, normalizeGpuName,
  parseDecimal, parseGpuModel, seededRandom, newLeaseId, isLeaseId, meetsTier,
} from './index.ts';

describe('base58', () => {
  it('round-trips bytes including leading zeros', () => {
    const rnd = seededRandom(7);
    for (let n = 0; n < 200; n++) {
      const bytes = Uint8Array.from({ length: 1 + (n % 40) }, (_, i) => (i < n % 3 ? 0 : Math.floor(rnd() * 256)));
      expect(base58Decode(base58Encode(bytes))).toEqual(bytes);
    }
  });
  it('knows the system program address is 32 zero bytes', () => {
    expect(base58Encode(new Uint8Array(32))).toBe('11111111111111111111111111111111');
    expect(isAddress('11111111111111111111111111111111')).toBe(true);
    expect(isAddress('0OIl')).toBe(false);
  });
});

describe('decimal units', () => {
  it('parses and formats 6-decimal amounts exactly', () => {
    expect(parseDecimal('1.25')).toBe(1_250_000n);
    expect(parseDecimal('0.000001')).toBe(1n);
    expect(formatDecimal(1_250_000n)).toBe('1.25');
    expect(formatDecimal(3n)).toBe('0.000003');
  });
  it('rejects negatives, too many decimals and junk with a coded error', () => {
    for (const bad of ['-1', '1.0000001', 'abc', '', '1e6']) {
      expect(() => parseDecimal(bad)).toThrow(IdlegridError);
    }
  });
});

describe('gpu models', () => {
  it('normalizes nvidia-smi product names', () => {
    expect(normalizeGpuName('NVIDIA H100 80GB HBM3')).toBe('H100');
    expect(normalizeGpuName('NVIDIA GeForce RTX 4090')).toBe('RTX4090');
    expect(normalizeGpuName('Tesla V100-SXM2-16GB')).toBe('V100');
    expect(normalizeGpuName('NVIDIA L40S')).toBe('L40S');
    expect(normalizeGpuName('NVIDIA L4')).toBe('L4');
    expect(normalizeGpuName('NVIDIA A100-SXM4-80GB')).toBe('A100');
    expect(normalizeGpuName('Matrox G200')).toBeNull();
  });
  it('parses user input case-insensitively and refuses unknown models', () => {
    expect(parseGpuModel('h100')).toBe('H100');
    expect(parseGpuModel('rtx-4090')).toBe('RTX4090');
    expect(() => parseGpuModel('H1000')).toThrow(/Unknown GPU model/);
  });
  it('orders tiers', () => {
    expect(meetsTier('gold', 'silver')).toBe(true);
    expect(meetsTier('bronze', 'silver')).toBe(false);
  });
});

describe('ids', () => {
  it('makes lease ids deterministic from a seed', () => {
    const a = newLeaseId(seededRandom(1));
    expect(a).toBe(newLeaseId(seededRandom(1)));
    expect(isLeaseId(a)).toBe(true);
  });
});
