import { describe, expect, it } from 'vitest';
import { proposalStatus, tally } from './governance.ts';

describe('governance tally', () => {
  it('needs 10 % of the snapshot stake to be met, rounded up', () => {
    expect(tally({ yes: 99n, no: 0n, totalStake: 1_000n })).toMatchObject({ quorum: 100n, quorumMet: false, passed: false });
    expect(tally({ yes: 60n, no: 40n, totalStake: 1_000n })).toMatchObject({ quorum: 100n, turnout: 100n, quorumMet: true, passed: true });
    expect(tally({ yes: 1n, no: 0n, totalStake: 11n }).quorum).toBe(2n);
    expect(tally({ yes: 0n, no: 0n, totalStake: 0n })).toMatchObject({ quorum: 1n, quorumMet: false, passed: false });
  });

  it('passes only with strictly more yes than no', () => {
    expect(tally({ yes: 50n, no: 50n, totalStake: 100n }).passed).toBe(false);
    expect(tally({ yes: 51n, no: 50n, totalStake: 100n }).passed).toBe(true);
    expect(tally({ yes: 10n, no: 90n, totalStake: 100n })).toMatchObject({ quorumMet: true, passed: false });
    expect(() => tally({ yes: -1n, no: 0n, totalStake: 1n })).toThrow(RangeError);
  });

  it('moves through voting, timelock and due; rejected when it fails; applied once recorded', () => {
    const p = { votingEndsAtMs: 1_000, timelockEndsAtMs: 2_000, appliedAtMs: null };
    const yes = tally({ yes: 10n, no: 0n, totalStake: 10n });
    const no = tally({ yes: 0n, no: 10n, totalStake: 10n });
    expect(proposalStatus(p, yes, 999)).toBe('voting');
    expect(proposalStatus(p, yes, 1_000)).toBe('timelock');
    expect(proposalStatus(p, yes, 2_000)).toBe('due');
    expect(proposalStatus(p, no, 1_000)).toBe('rejected');
    expect(proposalStatus({ ...p, appliedAtMs: 2_500 }, yes, 3_000)).toBe('applied');
  });
});
