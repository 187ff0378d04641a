import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCloudConfig, openCloudLedger } from '@idlegrid/cloud';
import { systemClock } from '@idlegrid/domain';
import { startLiteSvmRpc } from '../../../../packages/chain/src/rpc/litesvm-rpc-shim.ts';
import { runCli } from '../../../../tests/e2e/cli-process.ts';
import type { ChainInitResult } from './chain.ts';

const ADDRESS = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;

function expectAddresses(r: ChainInitResult): void {
  expect(r.authority).toMatch(ADDRESS);
  for (const token of ['IO', 'USDC'] as const) {
    expect(r.mints[token]).toMatch(ADDRESS);
    expect(r.accounts[token].escrow).toMatch(ADDRESS);
    expect(r.accounts[token].treasury).toMatch(ADDRESS);
    expect(r.accounts[token].stakeVault).toMatch(ADDRESS);
  }
  expect(r.decimals).toBe(6);
}

/** One line on stderr, nothing on stdout, exit code 1. */
function expectOneLineFailure(res: { code: number | null; stdout: string; stderr: string }): string {
  expect(res.code).toBe(1);
  expect(res.stdout).toBe('');
  const lines = res.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
}

describe('idlegrid chain init', () => {
  let root: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'idlegrid-chain-init-'));
    env = { ...process.env, IDLEGRID_HOME: join(root, 'home') };
    delete env['IDLEGRID_DATA_DIR'];
    delete env['IDLEGRID_CHAIN'];
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('bootstraps the embedded chain in <data-dir>/chain, prints the same addresses every run, and cloud serve opens that chain', async () => {
    const dataDir = join(root, 'cloud');
    const first = await runCli(['chain', 'init', '--data-dir', dataDir, '--json'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    // The data dir can also come from the environment, as for `cloud serve`.
    const second = await runCli(['chain', 'init', '--json'], { ...env, IDLEGRID_DATA_DIR: dataDir });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);

    const result = JSON.parse(first.stdout) as ChainInitResult;
    expect(result).toMatchObject({ chain: 'embedded', backend: 'embedded', chainDir: join(dataDir, 'chain') });
    expectAddresses(result);

    // What `idlegrid cloud serve --data-dir <dataDir>` opens is the same chain.
    const ledger = await openCloudLedger(loadCloudConfig({}, { dataDir }), systemClock);
    try {
      const { chain: _c, chainDir: _d, ...info } = result;
      expect(JSON.parse(JSON.stringify(ledger.info()))).toEqual(info);
    } finally {
      await ledger.close();
    }

    const human = await runCli(['chain', 'init', '--data-dir', dataDir], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(result.authority);
    expect(human.stdout).toContain(result.accounts.USDC.stakeVault);
  }, 60_000);

  it('refuses an RPC URL whose --authority file is missing, with a one-line reason saying how to create one', async () => {
    const missing = join(root, 'no-such-authority.json');
    const res = await runCli(['chain', 'init', '--chain', 'http://127.0.0.1:1', '--authority', missing], env);
    const line = expectOneLineFailure(res);
    expect(line).toContain(missing);
    expect(line).toContain('solana-keygen new -o');
    expect(line).toContain('KEYPAIR_INVALID');

    const json = await runCli(['chain', 'init', '--chain', 'http://127.0.0.1:1', '--authority', missing, '--json'], env);
    const parsed = JSON.parse(expectOneLineFailure(json)) as { error: { code: string; details: { path: string } } };
    expect(parsed.error).toMatchObject({ code: 'KEYPAIR_INVALID', details: { path: missing } });

    const without = await runCli(['chain', 'init', '--chain', 'http://127.0.0.1:1'], env);
    expect(expectOneLineFailure(without)).toContain('--authority');
  });

  describe('on an RPC endpoint (LiteSVM JSON-RPC shim)', () => {
    let shim: Awaited<ReturnType<typeof startLiteSvmRpc>>;
    beforeAll(async () => {
      shim = await startLiteSvmRpc();
    });
    afterAll(async () => {
      await shim.close();
    });

    it('names the authority to fund while it has no SOL, then bootstraps idempotently once funded', async () => {
      const created = await runCli(['wallet', 'new', '--json'], env);
      expect(created.code).toBe(0);
      const { address, path } = JSON.parse(created.stdout) as { address: string; path: string };
      const args = ['chain', 'init', '--chain', shim.url, '--authority', path, '--json'];

      const unfunded = await runCli(args, env);
      const reason = JSON.parse(expectOneLineFailure(unfunded)) as { error: { code: string; message: string } };
      expect(reason.error.code).toBe('CHAIN_AUTHORITY_UNFUNDED');
      expect(reason.error.message).toContain(address);

      const airdrop = await fetch(shim.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'requestAirdrop', params: [address, 1_000_000_000] }),
      });
      expect(airdrop.ok).toBe(true);

      const first = await runCli(args, env);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const second = await runCli(args, env);
      expect(second.code).toBe(0);
      expect(second.stdout).toBe(first.stdout);
      const result = JSON.parse(first.stdout) as ChainInitResult;
      expect(result).toMatchObject({ chain: shim.url, backend: 'rpc', authority: address, authorityFile: path });
      expectAddresses(result);
    }, 60_000);
  });
});
