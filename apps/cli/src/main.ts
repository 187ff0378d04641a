import { Command, CommanderError } from 'commander';
import { addChainCommands } from './commands/chain.ts';
import { addCloudCommands } from './commands/cloud.ts';
import { addGovCommands } from './commands/gov.ts';
import { addStakeCommands } from './commands/stake.ts';
import { addUpCommand } from './commands/up.ts';
import { addWalletCommands } from './commands/wallet.ts';
import { addWorkerCommands } from './commands/worker.ts';
import { reportError, type GlobalOptions } from './output.ts';

export function buildProgram(): Command {
  const program = new Command('idlegrid')
    .description('idlegrid: rent GPUs from many suppliers as one Ray cluster, or earn from your idle GPUs.')
    .version('0.1.0')
    .option('--json', 'machine-readable output on stdout (errors as JSON on stderr)')
    .option('--cloud <url>', 'control-plane URL (default: $IDLEGRID_CLOUD_URL, the last `idlegrid up`, or http://127.0.0.1:8470)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  addUpCommand(program, globals);
  addCloudCommands(program, globals);
  addWorkerCommands(program, globals);
  addWalletCommands(program, globals);
  addChainCommands(program, globals);
  addStakeCommands(program, globals);
  addGovCommands(program, globals);
  // Sub-commands see the global options wherever they are written on the line.
  program.commands.forEach(function inherit(cmd: Command): void {
    cmd.exitOverride();
    cmd.commands.forEach(inherit);
  });
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    return reportError(err, argv.includes('--json'));
  }
}

process.exitCode = await main(process.argv);
