import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDepositTransfer, openEmbeddedLedger, type EmbeddedLedger } from '@idlegrid/chain';
import { manualClock, microUsd, seededRandom, type Address, type RegionId } from '@idlegrid/domain';
import { generateKeypair, signBytes, voteSigningPayload, type Keypair } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig } from '../config.ts';
import { apiCaller, loginWallet } from '../testing/api-client.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import { CPU_HARDWARE } from '../testing/test-agent.ts';

interface DeviceStake { deviceId: string; staked: string; cooling: string; requirement: string | null; coveragePpm: number; covered: boolean; unstakes: Array<{ state: string; amount: string }> }
interface StakeBody { stakeVault: string; mint: string; cooldownHours: number; devices: DeviceStake[] }

const clock = manualClock(1_750_000_000_000);
let dir: string;
let store: Store;
let ledger: EmbeddedLedger;
let cloud: CloudApp;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'idlegrid-stake-api-'));
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  ledger = await openEmbeddedLedger({ dataDir: join(dir, 'chain'), clock });
  await ledger.bootstrap();
  cloud = createCloudApp({
    config: loadCloudConfig({}, { dataDir: dir, govVotingSeconds: 60, govTimelockSeconds: 0 }),
    store, clock, random: seededRandom(7), logger: pino({ level: 'silent' }), inspector: new FakeInspector(), ledger,
  });
});

afterAll(async () => {
  await store.close();
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = apiCaller(() => cloud);

async function login(): Promise<{ key: string; wallet: Keypair }> {
  const { key, wallet } = await loginWallet(call);
  expect((await call('POST', '/v1/wallet/airdrop', { key, body: { sol: '1', io: '5000' } })).status).toBe(200);
  return { key, wallet };
}

async function device(gpuCount = 2): Promise<Address> {
  const id = generateKeypair().address;
  await store.devices.upsertOnHello({
    id, hardware: CPU_HARDWARE, gpuModel: 'cpu', gpuCount, region: 'local' as RegionId, pricePerGpuHour: microUsd(250_000n),
    payout: id, agentVersion: 'test', nowMs: clock.now(),
  });
  return id;
}

/** Signs a transfer to the stake vault the way the CLI does: from GET /v1/stake and GET /v1/chain. */
async function stakeTx(key: string, wallet: Keypair, amount: bigint): Promise<string> {
  const view = (await call('GET', '/v1/stake', { key })).body as unknown as StakeBody;
  const lifetime = await ledger.recentBlockhash();
  return buildDepositTransfer(wallet, { mint: view.mint as Address, escrow: view.stakeVault as Address, amount, lifetime });
}

describe('staking API', () => {
  it('stakes through the relay, shows coverage, unstakes into cooldown, and refuses what it must', async () => {
    const { key, wallet } = await login();
    const dev = await device(2);
    const empty = await call('GET', '/v1/stake', { key });
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ stakeVault: ledger.info().accounts.IO.stakeVault, cooldownHours: 336, devices: [] });

    const staked = await call('POST', '/v1/stake', { key, body: { transaction: await stakeTx(key, wallet, 30_000_000n), deviceId: dev } });
    expect(staked.status).toBe(201);
    expect(staked.body).toMatchObject({ deposit: { amount: '30' }, stake: { deviceId: dev, staked: '30', requirement: '40', coveragePpm: 750_000, covered: false } });
    const tx = await stakeTx(key, wallet, 10_000_000n);
    expect((await call('POST', '/v1/stake', { key, body: { transaction: tx, deviceId: dev } })).status).toBe(201);
    const replay = await call('POST', '/v1/stake', { key, body: { transaction: tx, deviceId: dev } });
    expect([replay.status, replay.body.error.code]).toEqual([409, 'CHAIN_DEPOSIT_REPLAY']);
    const unknown = await call('POST', '/v1/stake', { key, body: { transaction: await stakeTx(key, wallet, 1n), deviceId: generateKeypair().address } });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'STAKE_DEVICE_UNKNOWN']);
    const other = await login();
    const theirs = await call('POST', '/v1/stake', { key: other.key, body: { transaction: await stakeTx(other.key, other.wallet, 1n), deviceId: dev } });
    expect([theirs.status, theirs.body.error.code]).toEqual([409, 'STAKE_OTHER_STAKER']);

    const tooMuch = await call('POST', '/v1/stake/unstake', { key, body: { deviceId: dev, amount: '40.000001' } });
    expect([tooMuch.status, tooMuch.body.error.code]).toEqual([409, 'STAKE_INSUFFICIENT']);
    const un = await call('POST', '/v1/stake/unstake', { key, body: { deviceId: dev, amount: '5' } });
    expect(un.status).toBe(201);
    expect(un.body).toMatchObject({ unstake: { amount: '5', state: 'cooling' }, stake: { staked: '35', cooling: '5', covered: false } });

    const view = (await call('GET', '/v1/stake', { key })).body as unknown as StakeBody;
    expect(view.devices).toEqual([expect.objectContaining({ deviceId: dev, staked: '35', cooling: '5', unstakes: [expect.objectContaining({ state: 'cooling', amount: '5' })] })]);
    expect((await call('GET', '/v1/stake')).status).toBe(401);
    expect(await ledger.tokenAccountBalance(ledger.info().accounts.IO.stakeVault)).toBe(40_000_000n);
  });
});

describe('governance API', () => {
  it('proposes within bounds, takes one signed vote per wallet, and shows applied changes in GET /v1/params', async () => {
    const staker = await login();
    const dev = await device(1);
    expect((await call('POST', '/v1/stake', { key: staker.key, body: { transaction: await stakeTx(staker.key, staker.wallet, 100_000_000n), deviceId: dev } })).status).toBe(201);
    const outsider = await login();

    const outOfBounds = await call('POST', '/v1/governance/proposals', { key: staker.key, body: { param: 'protocol_fee_bps', value: '9000' } });
    expect([outOfBounds.status, outOfBounds.body.error.code]).toEqual([400, 'GOV_PARAM_INVALID']);
    expect(outOfBounds.body.error.message).toContain('5000');
    const notStaker = await call('POST', '/v1/governance/proposals', { key: outsider.key, body: { param: 'protocol_fee_bps', value: '300' } });
    expect([notStaker.status, notStaker.body.error.code]).toEqual([403, 'GOV_NOT_STAKER']);
    const made = await call('POST', '/v1/governance/proposals', { key: staker.key, body: { param: 'fee_burn_share_bps', value: '6000', why: 'burn more' } });
    expect(made.status).toBe(201);
    const proposal = made.body['proposal'] as { id: string; status: string };
    expect(proposal.status).toBe('voting');

    const sign = (k: Keypair, choice: 'yes' | 'no') => signBytes(k, voteSigningPayload({ proposalId: proposal.id, choice, voter: k.address }));
    const path = `/v1/governance/proposals/${proposal.id}/votes`;
    const forged = await call('POST', path, { key: staker.key, body: { choice: 'yes', signature: sign(outsider.wallet, 'yes') } });
    expect([forged.status, forged.body.error.code]).toEqual([401, 'BAD_SIGNATURE']);
    const powerless = await call('POST', path, { key: outsider.key, body: { choice: 'yes', signature: sign(outsider.wallet, 'yes') } });
    expect([powerless.status, powerless.body.error.code]).toEqual([403, 'GOV_NO_VOTING_POWER']);
    const voted = await call('POST', path, { key: staker.key, body: { choice: 'yes', signature: sign(staker.wallet, 'yes') } });
    expect(voted.status).toBe(201);
    expect(voted.body).toMatchObject({ vote: { choice: 'yes', anchor: expect.any(String) as string }, proposal: { yes: expect.any(String) as string, votes: 1 } });
    const again = await call('POST', path, { key: staker.key, body: { choice: 'no', signature: sign(staker.wallet, 'no') } });
    expect([again.status, again.body.error.code]).toEqual([409, 'GOV_ALREADY_VOTED']);
    const missing = await call('POST', '/v1/governance/proposals/gp_nope/votes', { key: staker.key, body: { choice: 'no', signature: sign(staker.wallet, 'no') } });
    expect(missing.status).toBe(404);

    const listed = await call('GET', '/v1/governance/proposals');
    expect(listed.body).toMatchObject({ votingSeconds: 60, timelockSeconds: 0, proposals: [expect.objectContaining({ id: proposal.id, status: 'voting' })] });

    clock.advance(60_000);
    const economy = cloud.economy;
    await store.transaction((tx) => economy.governance.applyDue({ nowMs: clock.now(), epochIndex: 9, store: tx }));
    const params = await call('GET', '/v1/params');
    const burn = (params.body['params'] as Array<{ name: string; value: string; source: string }>).find((p) => p.name === 'fee_burn_share_bps');
    expect(burn).toMatchObject({ value: '6000', source: 'governance' });
    expect(params.body['history']).toEqual([{ name: 'fee_burn_share_bps', oldValue: '5000', newValue: '6000', proposalId: proposal.id, epochIndex: 9, appliedAt: clock.now() }]);
    expect((await call('GET', '/v1/governance/proposals')).body['proposals']).toEqual([expect.objectContaining({ id: proposal.id, status: 'applied' })]);
  });
});
