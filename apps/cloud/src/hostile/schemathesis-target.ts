/**
 * A control plane started for schemathesis (scripts/schemathesis.sh): a fresh temp data dir,
 * a free port, and one logged-in wallet with an API key and airdropped funds, so that the
 * authenticated routes are exercised past authentication. Prints one JSON line
 * `{ "url", "apiKey", "wallet" }` on stdout once it listens; stops on SIGTERM/SIGINT.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { generateKeypair, signBytes } from '@idlegrid/protocol';
import { loadCloudConfig } from '../config.ts';
import { startCloud } from '../server.ts';

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'idlegrid-schemathesis-'));
  const config = loadCloudConfig(process.env, { port: 0, dataDir, logLevel: 'silent' });
  const cloud = await startCloud(config, { logger: pino({ level: process.env['LOG_LEVEL'] ?? 'error' }) });
  const wallet = generateKeypair();
  const challenge = (await (await fetch(`${cloud.url}/v1/auth/challenge?wallet=${wallet.address}`)).json()) as { nonce: string; message: string };
  const issued = await fetch(`${cloud.url}/v1/auth/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ wallet: wallet.address, nonce: challenge.nonce, signature: signBytes(wallet, challenge.message) }),
  });
  const { apiKey } = (await issued.json()) as { apiKey: string };
  const airdrop = await fetch(`${cloud.url}/v1/wallet/airdrop`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ sol: '1', io: '100', usdc: '100' }),
  });
  if (!issued.ok || !airdrop.ok) throw new Error(`login or airdrop failed: ${issued.status} ${airdrop.status}`);
  process.stdout.write(`${JSON.stringify({ url: cloud.url, apiKey, wallet: wallet.address })}\n`);
  const stop = async () => {
    await cloud.close();
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
