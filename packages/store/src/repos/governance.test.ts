import { expect, it } from 'vitest';
import type { Address } from '@idlegrid/domain';
import { describeEachStore } from '../testing/store-harness.ts';
import { addresses } from '../test-fixtures.ts';
import type { NewProposal } from './governance.ts';

const T0 = 1_700_000_000_000;
const [alice, bob, carol] = addresses(3, 31) as [Address, Address, Address];

function proposalOf(id: string, overrides: Partial<NewProposal> = {}): NewProposal {
  return {
    id, proposer: alice, param: 'protocol_fee_bps', value: '300', why: 'more for the treasury', createdAtMs: T0,
    votingEndsAtMs: T0 + 1000, timelockEndsAtMs: T0 + 2000, ...overrides,
  };
}

describeEachStore('governance', ({ open }) => {
  it('records a proposal with its stake snapshot, and one vote per wallet', async () => {
    const store = await open();
    const p = await store.governance.createProposal(proposalOf('gp_1'), [
      { wallet: alice, powerIo: 700n },
      { wallet: bob, powerIo: 300n },
      { wallet: carol, powerIo: 0n },
    ]);
    expect(p.totalStakeIo).toBe(1000n);
    expect(await store.governance.proposal('gp_1')).toEqual(p);
    expect(await store.governance.power('gp_1', bob)).toBe(300n);
    expect(await store.governance.power('gp_1', carol)).toBe(0n);
    const vote = { proposalId: 'gp_1', voter: bob, choice: 'no' as const, powerIo: 300n, signature: 'sig', bodyHash: 'h', atMs: T0 + 5 };
    expect(await store.governance.addVote(vote)).toBe(true);
    expect(await store.governance.addVote({ ...vote, choice: 'yes' })).toBe(false);
    await store.governance.addVote({ ...vote, voter: alice, choice: 'yes', powerIo: 700n });
    expect(await store.governance.totals('gp_1')).toEqual({ yes: 700n, no: 300n });
    expect(await store.governance.totals('gp_x')).toEqual({ yes: 0n, no: 0n });
    expect((await store.governance.unanchoredVotes(10)).map((v) => v.voter)).toEqual([bob, alice]);
    await store.governance.setVoteAnchor('gp_1', bob, 'anchor');
    expect((await store.governance.unanchoredVotes(10)).map((v) => v.voter)).toEqual([alice]);
    expect((await store.governance.votes('gp_1')).find((v) => v.voter === bob)).toMatchObject({ choice: 'no', anchorSignature: 'anchor' });
  });

  it('lists undecided proposals past their timelock, closes each once, and keeps the applied history in order', async () => {
    const store = await open();
    await store.governance.createProposal(proposalOf('gp_1'), [{ wallet: alice, powerIo: 1n }]);
    await store.governance.createProposal(proposalOf('gp_2', { createdAtMs: T0 + 1, timelockEndsAtMs: T0 + 1500 }), [{ wallet: alice, powerIo: 1n }]);
    expect((await store.governance.listProposals()).map((p) => p.id)).toEqual(['gp_2', 'gp_1']);
    expect((await store.governance.undecided(T0 + 1999)).map((p) => p.id)).toEqual(['gp_2']);
    expect((await store.governance.undecided(T0 + 2000)).map((p) => p.id)).toEqual(['gp_2', 'gp_1']);
    expect(await store.governance.close('gp_2', 'rejected', T0 + 2000)).toBe(true);
    expect(await store.governance.close('gp_2', 'applied', T0 + 2001)).toBe(false);
    expect((await store.governance.proposal('gp_2'))?.outcome).toBe('rejected');
    const c1 = await store.governance.addParamChange({ name: 'protocol_fee_bps', oldValue: '250', newValue: '300', proposalId: 'gp_1', epochIndex: 7, appliedAtMs: T0 + 2000 });
    await expect(store.governance.addParamChange({ ...c1, proposalId: 'gp_1' })).rejects.toMatchObject({ code: 'STORE_ERROR' });
    expect(await store.governance.paramChanges()).toEqual([c1]);
  });
});
