import { afterEach, describe, expect, it } from 'vitest';
import type { Address } from '@idlegrid/domain';
import { generateKeypair, signBytes, voteSigningPayload, type Keypair } from '@idlegrid/protocol';
import { IO, registerDevice, SimulatedCrash, stakingWorld, type StakingWorld } from '../testing/staking-fixture.ts';
import { voteMemo } from './governance.ts';

let world: StakingWorld | null = null;
let sigSeq = 0;

afterEach(async () => {
  await world?.close();
  world = null;
});

/** Active stake for a wallet, straight into the store (voting power comes from there). */
async function giveStake(w: StakingWorld, wallet: Address, amount: bigint): Promise<void> {
  const device = await registerDevice(w.store);
  sigSeq += 1;
  await w.store.stakes.add({ id: `stk_${sigSeq}`, deviceId: device, staker: wallet, amountIo: amount, depositSignature: `sig-${sigSeq}`, atMs: w.clock.now() });
}

function signed(k: Keypair, proposalId: string, choice: 'yes' | 'no') {
  return { proposalId, voter: k.address, choice, signature: signBytes(k, voteSigningPayload({ proposalId, choice, voter: k.address })) };
}

async function setup(): Promise<{ w: StakingWorld; big: Keypair; small: Keypair }> {
  const w = await stakingWorld();
  world = w;
  const big = generateKeypair();
  const small = generateKeypair();
  await giveStake(w, big.address, 950n * IO);
  await giveStake(w, small.address, 50n * IO);
  return { w, big, small };
}

describe('governance: proposals', () => {
  it('refuses values outside the bounds, unknown parameters, unreadable values and proposers without stake', async () => {
    const { w, small } = await setup();
    const propose = (param: string, value: string, proposer: Address = small.address) => w.governance.propose({ proposer, param, value });
    await expect(propose('protocol_fee_bps', '6000')).rejects.toMatchObject({ code: 'GOV_PARAM_INVALID', context: { param: 'protocol_fee_bps' } });
    await expect(propose('slash_fraud_bps', '999')).rejects.toMatchObject({ code: 'GOV_PARAM_INVALID' });
    await expect(propose('stake_per_gpu', '0.5')).rejects.toMatchObject({ code: 'GOV_PARAM_INVALID' });
    await expect(propose('no_such_param', '1')).rejects.toMatchObject({ code: 'GOV_PARAM_INVALID' });
    await expect(propose('protocol_fee_bps', 'lots')).rejects.toMatchObject({ code: 'GOV_PARAM_INVALID' });
    await expect(propose('protocol_fee_bps', '300', generateKeypair().address)).rejects.toMatchObject({ code: 'GOV_NOT_STAKER' });
    const p = await propose('stake_per_gpu', '250.5');
    expect(p).toMatchObject({ value: '250.5', totalStakeIo: 1_000n * IO, votingEndsAtMs: p.createdAtMs + 60_000, timelockEndsAtMs: p.createdAtMs + 90_000 });
    expect(await w.store.governance.power(p.id, small.address)).toBe(50n * IO);
  });
});

describe('governance: votes', () => {
  it('verifies the wallet signature, allows one vote per wallet, weights it by the snapshot and anchors it', async () => {
    const { w, big, small } = await setup();
    const p = await w.governance.propose({ proposer: small.address, param: 'protocol_fee_bps', value: '300' });
    // Forged: signed by someone else, or over another choice.
    const mallory = generateKeypair();
    await expect(w.governance.vote({ ...signed(mallory, p.id, 'yes'), voter: small.address })).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    await expect(w.governance.vote({ ...signed(small, p.id, 'no'), choice: 'yes' })).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    // Stake added after the snapshot gives no vote.
    const late = generateKeypair();
    await giveStake(w, late.address, 10_000n * IO);
    await expect(w.governance.vote(signed(late, p.id, 'yes'))).rejects.toMatchObject({ code: 'GOV_NO_VOTING_POWER' });

    const { vote, state } = await w.governance.vote(signed(small, p.id, 'yes'));
    expect(vote).toMatchObject({ powerIo: 50n * IO, choice: 'yes', anchorSignature: expect.any(String) as string });
    expect(state).toMatchObject({ status: 'voting', votes: 1, tally: { yes: 50n * IO, quorum: 100n * IO, quorumMet: false } });
    await expect(w.governance.vote(signed(small, p.id, 'no'))).rejects.toMatchObject({ code: 'GOV_ALREADY_VOTED' });
    const memo = voteMemo(p.id, 'yes', vote.bodyHash);
    expect(await w.ledger.findByMemo(memo)).toEqual([vote.anchorSignature]);

    // A crash after the vote was recorded: the next round anchors it, once.
    w.crashAt.point = 'vote.recorded';
    await expect(w.governance.vote(signed(big, p.id, 'no'))).rejects.toBeInstanceOf(SimulatedCrash);
    expect(await w.governance.round()).toBe(1);
    expect(await w.governance.round()).toBe(0);
    const bigVote = (await w.store.governance.votes(p.id)).find((v) => v.voter === big.address);
    expect(await w.ledger.findByMemo(voteMemo(p.id, 'no', bigVote?.bodyHash ?? ''))).toEqual([bigVote?.anchorSignature]);

    w.clock.advance(60_000);
    await expect(w.governance.vote(signed(late, p.id, 'yes'))).rejects.toMatchObject({ code: 'GOV_VOTING_CLOSED' });
  });
});

describe('governance: tally and applyDue', () => {
  it('applies a passed proposal at the first epoch close after the timelock; rejects one without quorum; the ParamBook follows', async () => {
    const { w, big, small } = await setup();
    const passes = await w.governance.propose({ proposer: big.address, param: 'protocol_fee_bps', value: '300', why: 'treasury' });
    const noQuorum = await w.governance.propose({ proposer: small.address, param: 'slash_abandon_bps', value: '1000' });
    w.clock.advance(1); // made later, so it applies after `passes`
    const twice = await w.governance.propose({ proposer: small.address, param: 'protocol_fee_bps', value: '400' });
    await w.governance.vote(signed(small, passes.id, 'no'));
    await w.governance.vote(signed(big, passes.id, 'yes'));
    await w.governance.vote(signed(small, noQuorum.id, 'yes'));
    await w.governance.vote(signed(big, twice.id, 'yes'));

    w.clock.advance(60_000);
    expect((await w.governance.state(passes)).status).toBe('timelock');
    expect(await w.store.transaction((tx) => w.governance.applyDue({ nowMs: w.clock.now(), epochIndex: 3, store: tx }))).toEqual([]);

    w.clock.advance(30_000);
    expect((await w.governance.state(passes)).status).toBe('due');
    expect((await w.governance.state(noQuorum)).status).toBe('rejected');
    const applied = await w.store.transaction((tx) => w.governance.applyDue({ nowMs: w.clock.now(), epochIndex: 4, store: tx }));
    expect(applied.map((c) => [c.name, c.oldValue, c.newValue, c.epochIndex])).toEqual([
      ['protocol_fee_bps', '250', '300', 4],
      ['protocol_fee_bps', '300', '400', 4],
    ]);
    expect(await w.store.transaction((tx) => w.governance.applyDue({ nowMs: w.clock.now(), epochIndex: 5, store: tx }))).toEqual([]);
    expect(w.book.current().protocol_fee_bps).toBe(250);
    await w.book.load(w.store);
    expect(w.book.current().protocol_fee_bps).toBe(400);
    expect(w.book.current().slash_abandon_bps).toBe(500);
    expect(w.book.source('protocol_fee_bps')).toBe('governance');
    expect(w.book.history().map((c) => c.proposalId)).toEqual([passes.id, twice.id]);
    expect((await w.governance.state((await w.store.governance.proposal(noQuorum.id))!)).status).toBe('rejected');
    expect((await w.governance.list()).map((s) => s.status).sort()).toEqual(['applied', 'applied', 'rejected']);
  });

  it('rolls back with the caller\'s transaction: nothing applied, the proposal still due', async () => {
    const { w, big } = await setup();
    const p = await w.governance.propose({ proposer: big.address, param: 'unstake_cooldown_hours', value: '48' });
    await w.governance.vote(signed(big, p.id, 'yes'));
    w.clock.advance(90_000);
    await expect(w.store.transaction(async (tx) => {
      await w.governance.applyDue({ nowMs: w.clock.now(), epochIndex: 1, store: tx });
      throw new Error('epoch close failed');
    })).rejects.toThrow('epoch close failed');
    expect(await w.store.governance.paramChanges()).toEqual([]);
    expect((await w.governance.state(p)).status).toBe('due');
    const applied = await w.store.transaction((tx) => w.governance.applyDue({ nowMs: w.clock.now(), epochIndex: 2, store: tx }));
    expect(applied).toHaveLength(1);
    await w.book.load(w.store);
    expect(w.book.current().unstake_cooldown_hours).toBe(48);
  });
});
