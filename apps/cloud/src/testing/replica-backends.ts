import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestSolAirdrop, startLiteSvmRpc } from '@idlegrid/chain';
import { toAddress } from '@idlegrid/domain';
import { generateKeypair } from '@idlegrid/protocol';
import { startTestPostgres } from '@idlegrid/store/testing/postgres';

/** What control-plane replicas share, started for a test or a benchmark. */
export interface ReplicaBackends {
  /** The private PostgreSQL every replica uses. */
  databaseUrl: string;
  /** The chain: LiteSVM behind JSON-RPC in this process (what `idlegrid chain node` serves). */
  chainUrl: string;
  /** The protocol authority's keypair file, funded with SOL on that chain. */
  authorityFile: string;
  /** The same as `IDLEGRID_*` variables for `idlegrid cloud serve`. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts a private PostgreSQL (Debian's binaries) and a LiteSVM JSON-RPC chain with a funded authority. */
export async function startReplicaBackends(): Promise<ReplicaBackends> {
  const pg = await startTestPostgres();
  const chain = await startLiteSvmRpc();
  const dir = mkdtempSync(join(tmpdir(), 'idlegrid-replica-authority-'));
  const authority = generateKeypair();
  const authorityFile = join(dir, 'authority.json');
  writeFileSync(authorityFile, JSON.stringify(Array.from(authority.secretKey)), { mode: 0o600 });
  await requestSolAirdrop(chain.url, toAddress(authority.address), 1_000_000_000_000n);
  return {
    databaseUrl: pg.url,
    chainUrl: chain.url,
    authorityFile,
    env: { IDLEGRID_DATABASE_URL: pg.url, IDLEGRID_CHAIN: chain.url, IDLEGRID_AUTHORITY: authorityFile },
    stop: async () => {
      await chain.close();
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
