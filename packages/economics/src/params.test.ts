import { describe, expect, it } from 'vitest';
import { isIdlegridError, parseIo } from '@idlegrid/domain';
import {
  applyChange, assertParam, checkParam, DEFAULT_PARAMS, formatParam, PARAM_NAMES, PARAM_SPECS, parseParamValue, validateParams,
  type ParamName,
} from './index.ts';

/** value ± 1 in the parameter's own type. */
function plus(value: number | bigint, delta: number): number | bigint {
  return typeof value === 'bigint' ? value + BigInt(delta) : value + delta;
}

describe('the parameter table', () => {
  it('has DESIGN\'s defaults', () => {
    expect(DEFAULT_PARAMS).toEqual({
      protocol_fee_bps: 250,
      fee_burn_share_bps: 5000,
      usdc_conversion_fee_bps: 200,
      io_usd_reference_price: 1_000_000n,
      emission_max_per_epoch: parseIo('100000'),
      emission_floor_bps: 2000,
      stipend_share_bps: 4000,
      stake_per_gpu: parseIo('200'),
      unstake_cooldown_hours: 336,
      slash_abandon_bps: 500,
      slash_fraud_bps: 10_000,
    });
    expect(PARAM_NAMES).toHaveLength(11);
    expect(validateParams(DEFAULT_PARAMS)).toBe(DEFAULT_PARAMS);
  });

  it('keeps every default within its bounds, with a unit and a description', () => {
    for (const name of PARAM_NAMES) {
      const spec = PARAM_SPECS[name];
      expect(spec.name).toBe(name);
      expect(spec.min <= spec.default && spec.default <= spec.max).toBe(true);
      expect(spec.unit.length).toBeGreaterThan(0);
      expect(spec.description.length).toBeGreaterThan(20);
      if (spec.kind === 'bps') expect(spec.min >= 0 && spec.max <= 10_000).toBe(true);
    }
  });
});

describe('bounds', () => {
  it.each(PARAM_NAMES.map((n) => [n] as [ParamName]))('%s: min and max accepted, min − 1 and max + 1 refused', (name) => {
    const { min, max } = PARAM_SPECS[name];
    expect(checkParam(name, min)).toEqual({ ok: true });
    expect(checkParam(name, max)).toEqual({ ok: true });
    expect(applyChange(DEFAULT_PARAMS, name, min)[name]).toBe(min);
    expect(applyChange(DEFAULT_PARAMS, name, max)[name]).toBe(max);
    for (const bad of [plus(min, -1), plus(max, 1)]) {
      const check = checkParam(name, bad);
      expect(check.ok).toBe(false);
      expect(() => applyChange(DEFAULT_PARAMS, name, bad)).toThrow(/must be from/);
      try {
        assertParam(name, bad);
        expect.unreachable();
      } catch (e) {
        expect(isIdlegridError(e, 'VALIDATION_FAILED')).toBe(true);
        expect(isIdlegridError(e, 'VALIDATION_FAILED') && e.context.issues[0]?.path).toBe(name);
      }
    }
  });

  it('refuses the wrong type and unknown names', () => {
    expect(checkParam('protocol_fee_bps', 250n).ok).toBe(false);
    expect(checkParam('protocol_fee_bps', 2.5).ok).toBe(false);
    expect(checkParam('protocol_fee_bps', '250').ok).toBe(false);
    expect(checkParam('stake_per_gpu', 200).ok).toBe(false);
    expect(checkParam('no_such_param', 1)).toEqual({ ok: false, reason: expect.stringContaining('unknown parameter') as unknown });
    expect(() => applyChange(DEFAULT_PARAMS, 'no_such_param', 1)).toThrow(/unknown parameter/);
    expect(() => validateParams({ ...DEFAULT_PARAMS, slash_fraud_bps: 0, protocol_fee_bps: 9999 })).toThrow(/slash_fraud_bps.*protocol_fee_bps|protocol_fee_bps.*slash_fraud_bps/);
  });

  it('applyChange returns a new frozen set and leaves the input alone', () => {
    const next = applyChange(DEFAULT_PARAMS, 'protocol_fee_bps', 300);
    expect(next.protocol_fee_bps).toBe(300);
    expect(DEFAULT_PARAMS.protocol_fee_bps).toBe(250);
    expect(Object.isFrozen(next)).toBe(true);
  });

  it('parses and formats values as people type them', () => {
    expect(parseParamValue('stake_per_gpu', '250.5')).toBe(250_500_000n);
    expect(parseParamValue('io_usd_reference_price', '0.25')).toBe(250_000n);
    expect(parseParamValue('protocol_fee_bps', ' 300 ')).toBe(300);
    expect(() => parseParamValue('protocol_fee_bps', '3.5')).toThrow(/integer/);
    expect(() => parseParamValue('nope', '1')).toThrow(/unknown parameter/);
    expect(formatParam('emission_max_per_epoch', DEFAULT_PARAMS.emission_max_per_epoch)).toBe('100000');
    expect(formatParam('protocol_fee_bps', 250)).toBe('250');
  });
});
