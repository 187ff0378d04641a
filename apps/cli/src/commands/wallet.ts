import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { IdlegridError, parseDecimal } from '@idlegrid/domain';
import {
  generateKeypair, loadOrCreateKeypair, readKeypairFile, writeKeypairFile,
  type CreateWithdrawalResponse, type WalletResponse,
} from '@idlegrid/protocol';
import { CloudClient } from '../cloud-client.ts';
import { depositToEscrow } from '../deposit.ts';
import { resolveCloudUrl, walletPath } from '../home.ts';
import { emit, table, type GlobalOptions } from '../output.ts';

export function addWalletCommands(program: Command, globals: () => GlobalOptions): void {
  const wallet = program.command('wallet').description('Your Solana wallet (solana-keygen keypair in $IDLEGRID_HOME): balances, airdrop, deposits to escrow');

  wallet
    .command('new')
    .description('Create a new wallet keypair (refuses to overwrite one unless --force)')
    .option('--force', 'replace an existing wallet file (its funds become unreachable unless you kept a copy)')
    .action(async (opts: { force?: boolean }) => {
      const path = walletPath(process.env);
      if (!opts.force && (await exists(path))) {
        throw new IdlegridError('KEYPAIR_INVALID', { path, reason: 'a wallet already exists; use `idlegrid wallet show`, or --force to replace it' });
      }
      const keypair = generateKeypair();
      await writeKeypairFile(path, keypair);
      emit(globals(), { address: keypair.address, path }, () => `New wallet ${keypair.address}\nSaved to ${path} (mode 0600). Back it up: whoever holds this file holds the funds.`);
    });

  wallet
    .command('show')
    .description('Print the wallet address and where its keypair file is')
    .action(async () => {
      const path = walletPath(process.env);
      if (!(await exists(path))) {
        throw new IdlegridError('KEYPAIR_INVALID', { path, reason: 'no wallet yet; create one with `idlegrid wallet new`' });
      }
      const keypair = await readKeypairFile(path);
      emit(globals(), { address: keypair.address, path }, () => `${keypair.address}\n(${path})`);
    });

  wallet
    .command('balance')
    .description('On-chain SOL/IO/USDC of the wallet and its escrow balance on the cloud')
    .action(async () => {
      const g = globals();
      const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
      const view = await client.get<WalletResponse>('/v1/wallet', {}, true);
      emit(g, view, () => renderWallet(view));
    });

  wallet
    .command('airdrop')
    .description('Embedded network only: free SOL, IO and USDC to try things out')
    .option('--sol <amount>', 'SOL (default 1, at most 10)')
    .option('--io <amount>', 'IO (default 1000, at most 100000)')
    .option('--usdc <amount>', 'USDC (default 1000, at most 100000)')
    .action(async (opts: { sol?: string; io?: string; usdc?: string }) => {
      const g = globals();
      const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
      const view = await client.post<WalletResponse>('/v1/wallet/airdrop', opts, true);
      emit(g, view, () => `Airdrop received.\n${renderWallet(view)}`);
    });

  wallet
    .command('deposit')
    .description('Move IO or USDC from the wallet into escrow (USDC converts to IO at the reference price, minus a fee)')
    .requiredOption('--amount <amount>', 'how much, e.g. 25 or 12.5')
    .option('--token <token>', 'IO or USDC', 'IO')
    .action(async (opts: { amount: string; token: string }) => {
      const g = globals();
      const token = opts.token.toUpperCase();
      if (token !== 'IO' && token !== 'USDC') {
        throw new IdlegridError('VALIDATION_FAILED', { where: '--token', issues: [{ path: 'token', message: 'expected IO or USDC' }] });
      }
      const amount = parseDecimal(opts.amount);
      if (amount === 0n) throw new IdlegridError('INVALID_AMOUNT', { value: opts.amount, reason: 'a deposit must be more than 0' });
      const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
      const { keypair } = await loadOrCreateKeypair(walletPath(process.env));
      // The wallet signs here; the cloud only checks and relays the signed transfer.
      const res = await depositToEscrow(client, keypair, token, amount);
      const d = res.deposit;
      emit(g, res, () =>
        [
          `Deposited ${d.amountPaid} ${d.token}` + (d.token === 'USDC' ? ` → ${d.ioCredited} IO (fee ${d.fee} IO)` : ''),
          `Escrow balance: ${res.escrow.io} IO`,
          `Transaction ${d.signature}`,
        ].join('\n'),
      );
    });

  wallet
    .command('withdraw')
    .description('Send IO from your escrow balance (what no cluster has reserved) back to your wallet')
    .requiredOption('--amount <amount>', 'IO to withdraw, e.g. 5 or 2.5')
    .action(async (opts: { amount: string }) => {
      const g = globals();
      const amount = parseDecimal(opts.amount);
      if (amount === 0n) throw new IdlegridError('INVALID_AMOUNT', { value: opts.amount, reason: 'a withdrawal must be more than 0' });
      const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
      const res = await client.post<CreateWithdrawalResponse>('/v1/wallet/withdrawals', { amount: opts.amount }, true);
      const w = res.withdrawal;
      emit(g, res, () =>
        [
          `Withdrew ${w.amountIo} IO to ${w.wallet}`,
          w.signature ? `Transaction ${w.signature}` : 'The transfer is queued; the next settlement round sends it (see `idlegrid wallet balance`).',
          `Escrow balance: ${res.escrow.io} IO`,
        ].join('\n'),
      );
    });
}

function renderWallet(v: WalletResponse): string {
  const lines = [
    `Wallet ${v.wallet} (${v.network} network)`,
    table(['', 'SOL', 'IO', 'USDC'], [['on chain', v.balances.sol, v.balances.io, v.balances.usdc], ['escrow', '', v.escrow.io, '']]),
  ];
  if (v.deposits.length > 0) {
    lines.push('', 'Latest deposits:', table(['AT', 'PAID', 'CREDITED IO', 'SIGNATURE'], v.deposits.map((d) => [
      new Date(d.at).toISOString(), `${d.amountPaid} ${d.token}`, d.ioCredited, d.signature,
    ])));
  }
  return lines.join('\n');
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
