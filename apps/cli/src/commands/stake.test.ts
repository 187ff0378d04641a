import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCloudConfig, startCloud, type RunningCloud } from '@idlegrid/cloud';
import { microUsd, type RegionId } from '@idlegrid/domain';
import { generateKeypair, writeKeypairFile, type CreateStakeResponse, type ProposalResponse, type StakeResponse, type UnstakeResponse, type VoteResponse } from '@idlegrid/protocol';
import { runCli } from '../../../../tests/e2e/cli-process.ts';

/** One line on stderr naming `code`, nothing on stdout, exit code 1. */
function expectFailure(res: { code: number | null; stdout: string; stderr: string }, code: string): void {
  expect(res.code).toBe(1);
  expect(res.stdout).toBe('');
  const lines = res.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(code);
}

function json<T>(res: { code: number | null; stdout: string; stderr: string }): T {
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as T;
}

describe('idlegrid stake and gov', () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  let running: RunningCloud;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'idlegrid-stake-cli-'));
    running = await startCloud(
      loadCloudConfig({}, { port: 0, dataDir: join(root, 'cloud'), govVotingSeconds: 600, govTimelockSeconds: 0, logLevel: 'silent' }),
      { logger: pino({ level: 'silent' }) },
    );
    env = { ...process.env, IDLEGRID_HOME: join(root, 'home'), IDLEGRID_CLOUD_URL: running.url };
    for (const k of ['IDLEGRID_AGENT_KEYPAIR', 'IDLEGRID_AGENT_DATA_DIR']) delete env[k];
  });

  afterAll(async () => {
    await running.close();
    await rm(root, { recursive: true, force: true });
  });

  it('stakes for this machine\'s agent, unstakes, proposes and votes with the wallet signature', async () => {
    // This machine's agent key, registered with the cloud as its hello would.
    const agentKey = generateKeypair();
    await writeKeypairFile(join(root, 'home', 'agent', 'device-key.json'), agentKey);
    await running.store.devices.upsertOnHello({
      id: agentKey.address, hardware: { gpus: [], cpu: { model: 'Test CPU', cores: 4 }, memoryBytes: 2 ** 33 }, gpuModel: 'cpu', gpuCount: 2,
      region: 'local' as RegionId, pricePerGpuHour: microUsd(250_000n), payout: agentKey.address, agentVersion: 'test', nowMs: Date.now(),
    });

    expect((await runCli(['wallet', 'new', '--json'], env)).code).toBe(0);
    expectFailure(await runCli(['stake', 'add', '--amount', '30'], env), 'INVALID_AMOUNT');
    expect((await runCli(['wallet', 'airdrop', '--io', '100', '--json'], env)).code).toBe(0);

    const added = json<CreateStakeResponse>(await runCli(['stake', 'add', '--amount', '30', '--json'], env));
    expect(added.stake).toMatchObject({ deviceId: agentKey.address, staked: '30', requirement: '40', covered: false });
    const human = await runCli(['stake', 'add', '--amount', '10'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Active stake 40 IO of 40 IO required (100.0 %)');
    expectFailure(await runCli(['stake', 'add', '--amount', '1', '--device', 'not-an-address'], env), 'INVALID_ADDRESS');

    const removed = json<UnstakeResponse>(await runCli(['stake', 'remove', '--amount', '5', '--json'], env));
    expect(removed.unstake).toMatchObject({ amount: '5', state: 'cooling' });
    const shown = json<StakeResponse>(await runCli(['stake', 'show', '--json'], env));
    expect(shown.devices).toEqual([expect.objectContaining({ staked: '35', cooling: '5' })]);

    expectFailure(await runCli(['gov', 'propose', '--param', 'protocol_fee_bps', '--value', '9000'], env), 'GOV_PARAM_INVALID');
    const proposed = json<ProposalResponse>(await runCli(['gov', 'propose', '--param', 'protocol_fee_bps', '--value', '300', '--why', 'test', '--json'], env));
    const voted = json<VoteResponse>(await runCli(['gov', 'vote', proposed.proposal.id, 'yes', '--json'], env));
    expect(voted.vote).toMatchObject({ choice: 'yes', power: '35' });
    expect(voted.proposal).toMatchObject({ yes: '35', votes: 1 });
    expectFailure(await runCli(['gov', 'vote', proposed.proposal.id, 'no'], env), 'GOV_ALREADY_VOTED');
    const listed = await runCli(['gov', 'list'], env);
    expect(listed.stdout).toContain(proposed.proposal.id);
    expect(listed.stdout).toContain('protocol_fee_bps');
  }, 120_000);
});
