import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openEmbeddedLedger, signerFromSeed, type ChainSigner, type EmbeddedLedger } from '@idlegrid/chain';
import { manualClock, microUsd, toDeviceId, type DeviceId, type GpuModel, type RegionId } from '@idlegrid/domain';
import { openStore, type Store } from '@idlegrid/store';
import { loadCloudConfig, type CloudConfig } from '../config.ts';
import type { CrashHook } from '../settlement/chain-tasks.ts';
import { storeIdempotency } from '../settlement/store-idempotency.ts';
import { CPU_HARDWARE } from './test-agent.ts';
import { GovernanceService } from '../economics/governance.ts';
import { ParamBook } from '../economics/param-book.ts';
import { StakingService } from '../economics/staking.ts';

export const IO = 1_000_000n;
export const T0 = 1_750_000_000_000;

/** Staking and governance over a real SQLite store and embedded ledger (idempotency in the store). */
export interface StakingWorld {
  store: Store;
  ledger: EmbeddedLedger;
  clock: ReturnType<typeof manualClock>;
  config: CloudConfig;
  book: ParamBook;
  staking: StakingService;
  governance: GovernanceService;
  /** Set to make the named crash point throw (once). */
  crashAt: { point: string | null };
  close(): Promise<void>;
}

export class SimulatedCrash extends Error {}

export function newWallet(): ChainSigner {
  return signerFromSeed(new Uint8Array(randomBytes(32)));
}

export async function stakingWorld(): Promise<StakingWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'idlegrid-staking-'));
  const clock = manualClock(T0);
  const store = await openStore({ kind: 'sqlite', path: ':memory:' });
  const ledger = await openEmbeddedLedger({ dataDir: join(dir, 'chain'), clock, idempotency: storeIdempotency(store) });
  await ledger.bootstrap();
  const config = loadCloudConfig({}, { dataDir: dir, govVotingSeconds: 60, govTimelockSeconds: 30 });
  const book = ParamBook.fromConfig(config);
  const logger = pino({ level: 'silent' });
  const crashAt: { point: string | null } = { point: null };
  const crash: CrashHook = (point) => {
    if (crashAt.point !== point) return;
    crashAt.point = null;
    throw new SimulatedCrash(point);
  };
  const staking = new StakingService({ store, ledger, clock, book, logger, crash });
  const governance = new GovernanceService({ store, ledger, clock, book, logger, votingSeconds: 60, timelockSeconds: 30, crash });
  return {
    store, ledger, clock, config, book, staking, governance, crashAt,
    async close() {
      await ledger.close();
      await store.close();
    },
  };
}

/** A registered device (as an agent's hello leaves it). */
export async function registerDevice(store: Store, o: { gpuModel?: GpuModel; gpuCount?: number } = {}): Promise<DeviceId> {
  const id = toDeviceId(newWallet().address);
  await store.devices.upsertOnHello({
    id, hardware: CPU_HARDWARE, gpuModel: o.gpuModel ?? 'cpu', gpuCount: o.gpuCount ?? 2, region: 'local' as RegionId,
    pricePerGpuHour: microUsd(250_000n), payout: newWallet().address, agentVersion: 'test', nowMs: T0,
  });
  return id;
}

/** A wallet with SOL and `io` IO on the embedded chain. */
export async function fundedWallet(ledger: EmbeddedLedger, io: bigint): Promise<ChainSigner> {
  const w = newWallet();
  await ledger.airdrop(w.address, { sol: 10n ** 9n, io });
  return w;
}

/** Stakes `amount` for `device` through the service (a signed transfer to the stake vault). */
export async function stake(world: StakingWorld, staker: ChainSigner, device: DeviceId, amount: bigint): Promise<{ signature: string; amount: bigint }> {
  const tx = await world.ledger.buildDepositTransaction(staker, 'IO', amount, 'stakeVault');
  return world.staking.stakeDeposit(staker.address, device, tx);
}
