import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { base58Decode, base58Encode, IdlegridError, type Address } from '@idlegrid/domain';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * An ed25519 keypair kept in the format `solana-keygen` writes: a JSON array of 64 bytes,
 * the 32-byte seed followed by the 32-byte public key. A device key is therefore also a
 * Solana wallet, and users can bring their own wallet file.
 */
export interface Keypair {
  readonly address: Address;
  readonly publicKey: Uint8Array;
  /** 64 bytes: seed ‖ public key, exactly as written to the keypair file. */
  readonly secretKey: Uint8Array;
  readonly privateKeyObject: KeyObject;
}

export function generateKeypair(): Keypair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length);
  return keypairFromSeed(new Uint8Array(seed));
}

export function keypairFromSeed(seed: Uint8Array): Keypair {
  if (seed.length !== 32) throw new TypeError('ed25519 seed must be 32 bytes');
  const privateKeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKeyObject).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length));
  const secretKey = new Uint8Array(64);
  secretKey.set(seed, 0);
  secretKey.set(publicKey, 32);
  return { address: base58Encode(publicKey) as Address, publicKey, secretKey, privateKeyObject };
}

/** Parses keypair file text; `path` only labels errors. */
export function parseKeypairJson(text: string, path: string): Keypair {
  let bytes: unknown;
  try {
    bytes = JSON.parse(text);
  } catch {
    throw new IdlegridError('KEYPAIR_INVALID', { path, reason: 'not JSON; expected an array of 64 numbers (solana-keygen format)' });
  }
  if (!Array.isArray(bytes) || bytes.length !== 64 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new IdlegridError('KEYPAIR_INVALID', { path, reason: 'expected a JSON array of 64 bytes (solana-keygen format)' });
  }
  const secret = Uint8Array.from(bytes as number[]);
  const keypair = keypairFromSeed(secret.subarray(0, 32));
  if (!Buffer.from(keypair.publicKey).equals(Buffer.from(secret.subarray(32)))) {
    throw new IdlegridError('KEYPAIR_INVALID', { path, reason: 'the public half does not match the secret half' });
  }
  return keypair;
}

export function keypairToJson(keypair: Keypair): string {
  return JSON.stringify(Array.from(keypair.secretKey));
}

export async function readKeypairFile(path: string): Promise<Keypair> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new IdlegridError('KEYPAIR_INVALID', { path, reason: (e as Error).message }, { cause: e });
  }
  return parseKeypairJson(text, path);
}

/** Writes a keypair file readable by its owner only (mode 0600), atomically. */
export async function writeKeypairFile(path: string, keypair: Keypair): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, keypairToJson(keypair), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** Loads the keypair at `path`, creating one (mode 0600) when the file does not exist. */
export async function loadOrCreateKeypair(path: string): Promise<{ keypair: Keypair; created: boolean }> {
  try {
    return { keypair: await readKeypairFile(path), created: false };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    if (cause?.code !== 'ENOENT') throw e;
  }
  const keypair = generateKeypair();
  await writeKeypairFile(path, keypair);
  return { keypair, created: true };
}

const publicKeyCache = new Map<string, KeyObject | null>();
const PUBLIC_KEY_CACHE_LIMIT = 200_000;

/** The node:crypto public key for a Solana address (cached); null when it is not an ed25519 key. */
export function publicKeyObject(address: string): KeyObject | null {
  const cached = publicKeyCache.get(address);
  if (cached !== undefined) return cached;
  const raw = base58Decode(address);
  let key: KeyObject | null = null;
  if (raw?.length === 32) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
    } catch {
      key = null;
    }
  }
  if (publicKeyCache.size >= PUBLIC_KEY_CACHE_LIMIT) publicKeyCache.clear();
  publicKeyCache.set(address, key);
  return key;
}

/** Signs bytes; returns the 64-byte signature in base58, as Solana writes signatures. */
export function signBytes(keypair: Keypair, message: Uint8Array | string): string {
  const data = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  return base58Encode(sign(null, data, keypair.privateKeyObject));
}

/** Verifies a base58 signature by the key at `address`; false for any malformed input. */
export function verifyBytes(address: string, message: Uint8Array | string, signature: string): boolean {
  const key = publicKeyObject(address);
  const sig = base58Decode(signature);
  if (!key || sig?.length !== 64) return false;
  const data = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  try {
    return verify(null, data, key, sig);
  } catch {
    return false;
  }
}
