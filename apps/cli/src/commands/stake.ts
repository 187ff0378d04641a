import type { Command } from 'commander';
import { loadAgentConfig } from '@idlegrid/agent';
import { buildDepositTransfer } from '@idlegrid/chain';
import { formatDecimal, IdlegridError, isAddress, parseDecimal, toDeviceId, type Address, type DeviceId } from '@idlegrid/domain';
import {
  readKeypairFile,
  type ChainInfoResponse, type CreateStakeResponse, type DeviceStakeView, type Keypair, type StakeResponse, type UnstakeResponse, type WalletResponse,
} from '@idlegrid/protocol';
import { CloudClient } from '../cloud-client.ts';
import { resolveCloudUrl, walletPath } from '../home.ts';
import { emit, progress, table, type GlobalOptions } from '../output.ts';

interface DeviceOption {
  device?: string;
}

/**
 * `idlegrid stake add|remove|show`. The stake belongs to the wallet in $IDLEGRID_HOME; the device
 * defaults to this machine's agent (its key at $IDLEGRID_HOME/agent/device-key.json, or wherever
 * IDLEGRID_AGENT_DATA_DIR / IDLEGRID_AGENT_KEYPAIR put it), so a supplier who ran
 * `idlegrid worker start` here stakes for that worker without naming it.
 */
/** What `stake add` and `stake remove` both start from: the amount, a client of the cloud, and the device. */
async function stakeTarget(opts: DeviceOption & { amount: string }, g: GlobalOptions): Promise<{ amount: bigint; client: CloudClient; deviceId: DeviceId }> {
  const amount = positiveAmount(opts.amount);
  const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
  return { amount, client, deviceId: await resolveDevice(opts.device, client.baseUrl) };
}

export function addStakeCommands(program: Command, globals: () => GlobalOptions): void {
  const stake = program.command('stake').description('Stake IO for a device (required for rewards; slashed for abandoned leases and failed verification)');

  stake
    .command('add')
    .description('Send IO from your wallet to the stake vault for a device')
    .requiredOption('--amount <io>', 'IO to stake, e.g. 40 or 12.5')
    .option('--device <id>', "device id (default: this machine's agent key under $IDLEGRID_HOME/agent)")
    .action(async (opts: DeviceOption & { amount: string }) => {
      const g = globals();
      const { amount, client, deviceId } = await stakeTarget(opts, g);
      const wallet = await readWallet();
      const p = progress(g);
      p.update('Checking your wallet…');
      const view = await client.get<WalletResponse>('/v1/wallet', {}, true);
      if (parseDecimal(view.balances.io) < amount) {
        throw new IdlegridError('INVALID_AMOUNT', {
          value: opts.amount,
          reason: `your wallet ${wallet.address} holds ${view.balances.io} IO; get IO first (embedded network: \`idlegrid wallet airdrop --io ${formatDecimal(amount)}\`)`,
        });
      }
      const [vault, chain] = await Promise.all([client.get<StakeResponse>('/v1/stake', {}, true), client.get<ChainInfoResponse>('/v1/chain')]);
      const transaction = await buildDepositTransfer(wallet, {
        mint: vault.mint as Address,
        escrow: vault.stakeVault as Address,
        amount,
        lifetime: { blockhash: chain.recentBlockhash, lastValidBlockHeight: BigInt(chain.lastValidBlockHeight) },
      });
      p.update(`Staking ${formatDecimal(amount)} IO for ${deviceId}…`);
      const res = await client.post<CreateStakeResponse>('/v1/stake', { transaction, deviceId }, true);
      p.done();
      emit(g, res, () => [`Staked ${res.deposit.amount} IO for device ${deviceId} (transaction ${res.deposit.signature}).`, coverageLine(res.stake)].join('\n'));
    });

  stake
    .command('remove')
    .description('Unstake: the amount leaves the active stake now and reaches your wallet after the cooldown (slashable until then)')
    .requiredOption('--amount <io>', 'IO to unstake')
    .option('--device <id>', "device id (default: this machine's agent key under $IDLEGRID_HOME/agent)")
    .action(async (opts: DeviceOption & { amount: string }) => {
      const g = globals();
      const { amount, client, deviceId } = await stakeTarget(opts, g);
      const res = await client.post<UnstakeResponse>('/v1/stake/unstake', { deviceId, amount: formatDecimal(amount) }, true);
      emit(g, res, () =>
        [
          `Unstaking ${res.unstake.amount} IO from device ${deviceId}: paid to your wallet from ${new Date(res.unstake.availableAt).toISOString()} (id ${res.unstake.id}).`,
          coverageLine(res.stake),
        ].join('\n'),
      );
    });

  stake
    .command('show')
    .description("Your stakes per device: active, in cooldown, requirement, coverage, unstakes and slashes")
    .action(async () => {
      const g = globals();
      const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
      const res = await client.get<StakeResponse>('/v1/stake', {}, true);
      emit(g, res, () => renderStakes(res));
    });
}

function positiveAmount(text: string): bigint {
  let amount: bigint;
  try {
    amount = parseDecimal(text);
  } catch (error) {
    throw new IdlegridError('INVALID_AMOUNT', { value: text, reason: 'expected a decimal number of IO such as 40 or 12.5' }, { cause: error });
  }
  if (amount <= 0n) throw new IdlegridError('INVALID_AMOUNT', { value: text, reason: 'must be more than 0' });
  return amount;
}

async function readWallet(): Promise<Keypair> {
  const path = walletPath(process.env);
  return readKeypairFile(path).catch((e: unknown) => {
    throw new IdlegridError('KEYPAIR_INVALID', { path, reason: 'no wallet yet; create one with `idlegrid wallet new` and fund it' }, { cause: e });
  });
}

/** --device, else this machine's agent key. */
async function resolveDevice(flag: string | undefined, cloudUrl: string): Promise<DeviceId> {
  if (flag !== undefined) {
    if (!isAddress(flag)) throw new IdlegridError('INVALID_ADDRESS', { value: flag });
    return toDeviceId(flag);
  }
  const config = loadAgentConfig(process.env, { cloudUrl });
  const keypair = await readKeypairFile(config.keypairPath).catch((e: unknown) => {
    throw new IdlegridError('KEYPAIR_INVALID', {
      path: config.keypairPath,
      reason: 'no agent key on this machine; pass --device ID (see `idlegrid worker status` on the worker) or run `idlegrid worker start` here first',
    }, { cause: e });
  });
  return toDeviceId(keypair.address);
}

function coverageLine(s: DeviceStakeView): string {
  if (s.requirement === null) return `Staked ${s.staked} IO (device not registered: no requirement known).`;
  const pct = (s.coveragePpm / 10_000).toFixed(1);
  const line = `Active stake ${s.staked} IO of ${s.requirement} IO required (${pct} %)${s.cooling !== '0' ? `, ${s.cooling} IO in cooldown` : ''}.`;
  if (s.covered) return line;
  const missing = formatDecimal(parseDecimal(s.requirement) - parseDecimal(s.staked));
  return `${line} Not covered: stake ${missing} IO more (\`idlegrid stake add --amount ${missing} --device ${s.deviceId}\`) to earn rewards.`;
}

function renderStakes(res: StakeResponse): string {
  if (res.devices.length === 0) {
    return `No stake yet for ${res.wallet}. Stake for this machine's worker with \`idlegrid stake add --amount X\` (unstake cooldown ${res.cooldownHours} h).`;
  }
  const lines = [
    table(['DEVICE', 'GPU', 'STAKED', 'COOLING', 'REQUIRED', 'COVERAGE'], res.devices.map((d) => [
      d.deviceId, d.gpuModel === null ? '?' : `${d.gpuCount ?? '?'}×${d.gpuModel}`, d.staked, d.cooling, d.requirement ?? '?', `${(d.coveragePpm / 10_000).toFixed(1)} %`,
    ])),
  ];
  for (const d of res.devices) {
    for (const u of d.unstakes) {
      lines.push(`  unstake ${u.id}: ${u.amount} IO, ${u.state}${u.state === 'cooling' ? ` until ${new Date(u.availableAt).toISOString()}` : ''}${u.signature ? ` (${u.signature})` : ''}`);
    }
    for (const s of d.slashes) {
      lines.push(`  slash ${s.id}: ${s.amount} IO for ${s.reason} (${s.toBuyer} to the buyer, ${s.burned} burned) at ${new Date(s.at).toISOString()}`);
    }
  }
  lines.push(`Unstake cooldown: ${res.cooldownHours} h.`);
  return lines.join('\n');
}
