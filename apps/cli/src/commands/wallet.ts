import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { IdlegridError } from '@idlegrid/domain';
import { generateKeypair, readKeypairFile, writeKeypairFile } from '@idlegrid/protocol';
import { walletPath } from '../home.ts';
import { emit, type GlobalOptions } from '../output.ts';

export function addWalletCommands(program: Command, globals: () => GlobalOptions): void {
  const wallet = program.command('wallet').description('Your Solana wallet keypair (solana-keygen format) in $IDLEGRID_HOME');

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
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
