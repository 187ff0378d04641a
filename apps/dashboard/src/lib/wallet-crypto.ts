import { base58Encode } from './base58.ts';

/** A Solana keypair file (solana-keygen JSON: 64 numbers, seed ‖ public key) held in memory only. */
export interface BrowserKeypair {
  readonly address: string;
  readonly privateKey: CryptoKey;
}

const PKCS8_ED25519_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

function fromBase64Url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

/** Reads a keypair file's text; checks that its public half belongs to its seed. */
export async function parseKeypairFile(text: string): Promise<BrowserKeypair> {
  let numbers: unknown;
  try {
    numbers = JSON.parse(text);
  } catch {
    throw new Error('This is not a keypair file: expected a JSON array of 64 numbers (solana-keygen format).');
  }
  if (!Array.isArray(numbers) || numbers.length !== 64 || !numbers.every((n) => Number.isInteger(n) && n >= 0 && n <= 255)) {
    throw new Error('This is not a keypair file: expected a JSON array of 64 numbers (solana-keygen format).');
  }
  const bytes = Uint8Array.from(numbers as number[]);
  const pkcs8 = new Uint8Array([...PKCS8_ED25519_PREFIX, ...bytes.subarray(0, 32)]);
  const extractable = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', extractable);
  const derived = fromBase64Url(jwk.x ?? '');
  const stated = bytes.subarray(32);
  if (derived.length !== 32 || derived.some((b, i) => b !== stated[i])) {
    throw new Error('The keypair file is damaged: its public key does not match its secret key.');
  }
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
  return { address: base58Encode(stated), privateKey };
}

/** An ed25519 signature (64 bytes). */
export async function sign(keypair: BrowserKeypair, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, keypair.privateKey, new Uint8Array(message)));
}

export function base64ToBytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
