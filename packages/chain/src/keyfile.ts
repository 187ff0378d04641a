import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { ChainError } from './errors.ts';
import { writeAtomic } from './idempotency.ts';
import { signerFromSeed, type ChainSigner } from './wire.ts';

/** Reads a `solana-keygen` keypair file (JSON array of 64 bytes). */
export function readSignerFile(path: string): ChainSigner {
  let bytes: unknown;
  try {
    bytes = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ChainError('CHAIN_STATE_CORRUPT', `Keypair file ${path} is not readable JSON`, { path }, { cause: e });
  }
  if (!Array.isArray(bytes) || bytes.length !== 64 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new ChainError('CHAIN_STATE_CORRUPT', `Keypair file ${path} is not a JSON array of 64 bytes`, { path });
  }
  const secret = Uint8Array.from(bytes as number[]);
  const signer = signerFromSeed(secret.subarray(0, 32));
  if (!Buffer.from(signer.secretKey).equals(Buffer.from(secret))) {
    throw new ChainError('CHAIN_STATE_CORRUPT', `Keypair file ${path}: the public half does not match the secret half`, { path });
  }
  return signer;
}

/** Loads the keypair at `path`, creating one (mode 0600, solana-keygen format) when absent. */
export async function loadOrCreateSignerFile(path: string): Promise<ChainSigner> {
  if (existsSync(path)) return readSignerFile(path);
  const signer = signerFromSeed(new Uint8Array(randomBytes(32)));
  await writeAtomic(path, JSON.stringify(Array.from(signer.secretKey)), 0o600);
  return signer;
}
