import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock } from '@idlegrid/domain';
import { openEmbeddedLedger, type EmbeddedLedger, type EmbeddedLedgerOptions } from './embedded/index.ts';
import { signerFromSeed, type ChainSigner } from './wire.ts';

export function tempDir(prefix = 'idlegrid-chain-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function newWallet(): ChainSigner {
  return signerFromSeed(new Uint8Array(randomBytes(32)));
}

export const START_MS = 1_750_000_000_000;

/** A bootstrapped embedded ledger in a fresh temp dir with a manual clock. */
export async function freshLedger(options: Partial<EmbeddedLedgerOptions> = {}): Promise<{ ledger: EmbeddedLedger; dir: string; clock: ReturnType<typeof manualClock> }> {
  const dir = options.dataDir ?? tempDir();
  const clock = manualClock(START_MS);
  const ledger = await openEmbeddedLedger({ clock, ...options, dataDir: dir });
  await ledger.bootstrap();
  return { ledger, dir, clock };
}
