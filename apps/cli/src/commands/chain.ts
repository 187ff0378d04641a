import { access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { isChainError, openRpcLedger, requestSolAirdrop, startLiteSvmRpc, TOKENS, type Ledger, type LedgerInfo } from '@idlegrid/chain';
import { loadCloudConfig, openCloudLedger } from '@idlegrid/cloud';
import { IdlegridError, isAddress, systemClock, type Address } from '@idlegrid/domain';
import { readKeypairFile } from '@idlegrid/protocol';
import { emit, table, type GlobalOptions } from '../output.ts';
import { waitForSignal } from '../signals.ts';

interface InitOptions {
  chain?: string;
  authority?: string;
  dataDir?: string;
}

/** What `chain init` prints: the ledger's addresses and where that chain is. Same on every run. */
export interface ChainInitResult extends LedgerInfo {
  /** `embedded` or the RPC URL. */
  readonly chain: string;
  /** Embedded: the chain's directory (`<data-dir>/chain`, the one `cloud serve --data-dir` opens). */
  readonly chainDir?: string;
  /** RPC: the authority keypair file used. */
  readonly authorityFile?: string;
}

export function addChainCommands(program: Command, globals: () => GlobalOptions): void {
  const chain = program.command('chain').description('The settlement chain: create the IO/USDC mints and protocol token accounts');

  chain
    .command('init')
    .description('Create (idempotently) the IO and USDC mints and the authority\'s escrow, treasury and stake-vault token accounts')
    .option('--chain <chain>', 'embedded (LiteSVM in <data-dir>/chain) or a Solana RPC URL (http[s]://…); default $IDLEGRID_CHAIN or embedded')
    .option('--authority <file>', 'RPC only: the funded protocol authority keypair (solana-keygen JSON)')
    .option('--data-dir <dir>', 'embedded only: the control plane\'s data dir (default $IDLEGRID_DATA_DIR or ~/.idlegrid/cloud)')
    .action(async (opts: InitOptions) => {
      const target = opts.chain ?? process.env['IDLEGRID_CHAIN'] ?? 'embedded';
      const result = target === 'embedded' ? await initEmbedded(opts) : await initRpc(parseRpcUrl(target), opts);
      emit(globals(), result, () => renderInit(result));
    });

  chain
    .command('node')
    .description(
      'Run a local Solana JSON-RPC endpoint over LiteSVM until interrupted, for control-plane replicas on one machine to share '
      + '(--chain URL). Not a validator: its state is in memory and gone when it stops; use a test validator, devnet or mainnet beyond one machine.',
    )
    .option('--port <port>', 'TCP port (0 picks a free one)', '8899')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--fund <address-or-keypair-file...>', 'give each 100 SOL at start (the protocol authority needs SOL for fees and rent)')
    .action(async (opts: { port: string; host: string; fund?: string[] }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw invalid('--port', 'expected a TCP port number (0 picks a free one)');
      const funded: Address[] = [];
      for (const target of opts.fund ?? []) funded.push(await fundTarget(target));
      const node = await startLiteSvmRpc({ port, host: opts.host });
      for (const to of funded) await onChain(() => requestSolAirdrop(node.url, to, 100_000_000_000n));
      emit(globals(), { ready: true, url: node.url, funded }, () =>
        `Solana JSON-RPC (LiteSVM, in memory) on ${node.url}. Next: idlegrid chain init --chain ${node.url} --authority FILE. Ctrl-C to stop.`);
      await waitForSignal();
      await node.close();
    });
}

async function initEmbedded(opts: InitOptions): Promise<ChainInitResult> {
  if (opts.authority !== undefined) {
    throw invalid('--authority', 'only with an RPC URL: the embedded chain creates and keeps its own authority key in <data-dir>/chain');
  }
  // The same config and the same opener as `idlegrid cloud serve`, so that serve finds this chain.
  const config = loadCloudConfig(process.env, { chain: 'embedded', ...(opts.dataDir !== undefined ? { dataDir: resolve(opts.dataDir) } : {}) });
  const ledger = await onChain(() => openCloudLedger(config, systemClock));
  try {
    return { chain: 'embedded', chainDir: join(config.dataDir, 'chain'), ...ledger.info() };
  } finally {
    await ledger.close();
  }
}

async function initRpc(url: string, opts: InitOptions): Promise<ChainInitResult> {
  if (opts.authority === undefined) {
    throw invalid('--authority', 'required with an RPC URL: the protocol authority keypair, funded with SOL (create one with `solana-keygen new -o FILE` or `idlegrid wallet new`)');
  }
  const authorityFile = resolve(opts.authority);
  if (!(await exists(authorityFile))) {
    throw new IdlegridError('KEYPAIR_INVALID', {
      path: authorityFile,
      reason: 'no such file; create one with `solana-keygen new -o FILE` (or `idlegrid wallet new`, which writes $IDLEGRID_HOME/wallet.json), fund it with SOL and pass it as --authority',
    });
  }
  const authority = await readKeypairFile(authorityFile);
  const ledger: Ledger = await onChain(() => openRpcLedger({ url, authority }));
  try {
    const { sol } = await onChain(() => ledger.balances(authority.address));
    if (sol === 0n) throw new IdlegridError('CHAIN_AUTHORITY_UNFUNDED', { authority: authority.address, url });
    const info = await onChain(() => ledger.bootstrap());
    return { chain: url, authorityFile, ...info };
  } finally {
    await ledger.close();
  }
}

/** An address, or the public key of a keypair file (such as the authority's). */
async function fundTarget(target: string): Promise<Address> {
  if (isAddress(target)) return target;
  if (await exists(target)) return (await readKeypairFile(target)).address;
  throw invalid('--fund', `neither a Solana address nor a keypair file: ${target}`);
}

function parseRpcUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('--chain', `expected "embedded" or an http(s):// RPC URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('--chain', `expected "embedded" or an http(s):// RPC URL, got "${value}"`);
  return value;
}

function renderInit(r: ChainInitResult): string {
  const where = r.chainDir !== undefined
    ? `Embedded chain ready in ${r.chainDir} (\`idlegrid cloud serve --data-dir ${dirname(r.chainDir)}\` uses it)`
    : `Chain ready on ${r.chain}`;
  const rows = [
    ['mint', ...TOKENS.map((t) => r.mints[t])],
    ['escrow', ...TOKENS.map((t) => r.accounts[t].escrow)],
    ['treasury', ...TOKENS.map((t) => r.accounts[t].treasury)],
    ['stake vault', ...TOKENS.map((t) => r.accounts[t].stakeVault)],
  ];
  return [
    where,
    `Authority ${r.authority}${r.authorityFile !== undefined ? ` (${r.authorityFile})` : ''}`,
    '',
    table(['', ...TOKENS], rows),
  ].join('\n');
}

/** Runs a ledger call, turning a ChainError into the CHAIN_FAILED IdlegridError. */
async function onChain<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isChainError(e)) throw new IdlegridError('CHAIN_FAILED', { code: e.code, reason: e.message }, { cause: e });
    throw e;
  }
}

function invalid(where: string, message: string): IdlegridError<'VALIDATION_FAILED'> {
  return new IdlegridError('VALIDATION_FAILED', { where, issues: [{ path: where.replace(/^--/, ''), message }] });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
