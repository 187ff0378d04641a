import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { base58Encode, type Address } from '@idlegrid/domain';
import { publicKeyObject } from '@idlegrid/protocol';
import { ChainError } from './errors.ts';

/**
 * Anything that can sign for a Solana address: the 64-byte `solana-keygen` secret (seed ‖ public
 * key). `@idlegrid/protocol`'s `Keypair` fits this shape, so device and wallet keys sign here as is.
 */
export interface ChainSigner {
  readonly address: Address;
  readonly secretKey: Uint8Array;
}

/** The largest serialized transaction Solana accepts (bytes). */
export const MAX_TRANSACTION_BYTES = 1232;

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const privateKeys = new WeakMap<Uint8Array, KeyObject>();

function privateKeyOf(signer: ChainSigner): KeyObject {
  let key = privateKeys.get(signer.secretKey);
  if (!key) {
    if (signer.secretKey.length !== 64) throw new TypeError('a Solana secret key is 64 bytes (seed ‖ public key)');
    key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, signer.secretKey.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
    privateKeys.set(signer.secretKey, key);
  }
  return key;
}

/** Builds a ChainSigner from a 32-byte ed25519 seed. */
export function signerFromSeed(seed: Uint8Array): ChainSigner {
  if (seed.length !== 32) throw new TypeError('an ed25519 seed is 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length));
  const secretKey = new Uint8Array(64);
  secretKey.set(seed, 0);
  secretKey.set(publicKey, 32);
  privateKeys.set(secretKey, privateKey);
  return { address: base58Encode(publicKey) as Address, secretKey };
}

export function signBytes(signer: ChainSigner, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKeyOf(signer)));
}

export function verifySignature(addr: string, message: Uint8Array, signature: Uint8Array): boolean {
  const key = publicKeyObject(addr);
  if (!key || signature.length !== 64) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

// ---- compact-u16 ----------------------------------------------------------------------------

export function compactU16Length(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : 3;
}

function writeCompactU16(out: number[], value: number): void {
  let v = value;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if (v === 0) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

class Reader {
  offset = 0;
  constructor(private readonly bytes: Uint8Array) {}
  u8(): number {
    const b = this.bytes[this.offset];
    if (b === undefined) throw malformed('transaction ends early');
    this.offset++;
    return b;
  }
  compactU16(): number {
    let value = 0;
    for (let i = 0; i < 3; i++) {
      const b = this.u8();
      value |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) return value;
    }
    throw malformed('bad compact-u16');
  }
  take(n: number): Uint8Array {
    if (this.offset + n > this.bytes.length) throw malformed('transaction ends early');
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  get done(): boolean {
    return this.offset === this.bytes.length;
  }
}

function malformed(reason: string): ChainError {
  return new ChainError('CHAIN_DEPOSIT_MALFORMED', `Malformed transaction: ${reason}`, { reason });
}

// ---- decoding -------------------------------------------------------------------------------

export interface DecodedInstruction {
  readonly programAddress: Address;
  readonly accounts: readonly Address[];
  readonly data: Uint8Array;
}

export interface DecodedTransaction {
  readonly signatures: readonly Uint8Array[];
  /** base58 of the first signature: the transaction id. */
  readonly signature: string;
  readonly messageBytes: Uint8Array;
  readonly version: 'legacy' | 0;
  readonly accountKeys: readonly Address[];
  readonly numSigners: number;
  readonly feePayer: Address;
  readonly recentBlockhash: string;
  readonly instructions: readonly DecodedInstruction[];
  /** Index → writable, per the message header. */
  isWritable(index: number): boolean;
}

/**
 * Decodes a wire transaction (legacy, or v0 without address lookup tables). Every failure is a
 * CHAIN_DEPOSIT_MALFORMED ChainError; callers that decode their own transactions rethrow as needed.
 */
export function decodeTransaction(wire: Uint8Array): DecodedTransaction {
  const r = new Reader(wire);
  const numSignatures = r.compactU16();
  if (numSignatures === 0) throw malformed('no signatures');
  const signatures: Uint8Array[] = [];
  for (let i = 0; i < numSignatures; i++) signatures.push(r.take(64));
  const messageStart = r.offset;
  let version: 'legacy' | 0 = 'legacy';
  const first = r.u8();
  let numSigners = first;
  if (first & 0x80) {
    if ((first & 0x7f) !== 0) throw malformed(`unsupported transaction version ${first & 0x7f}`);
    version = 0;
    numSigners = r.u8();
  }
  const numReadonlySigned = r.u8();
  const numReadonlyUnsigned = r.u8();
  const numKeys = r.compactU16();
  const accountKeys: Address[] = [];
  for (let i = 0; i < numKeys; i++) accountKeys.push(base58Encode(r.take(32)) as Address);
  const recentBlockhash = base58Encode(r.take(32));
  const numInstructions = r.compactU16();
  const instructions: DecodedInstruction[] = [];
  for (let i = 0; i < numInstructions; i++) {
    const programIndex = r.u8();
    const nAccounts = r.compactU16();
    const indices = Array.from(r.take(nAccounts));
    const dataLength = r.compactU16();
    const data = new Uint8Array(r.take(dataLength));
    const programAddress = accountKeys[programIndex];
    if (programAddress === undefined) throw malformed('instruction program index out of range');
    const accounts = indices.map((ix) => {
      const a = accountKeys[ix];
      if (a === undefined) throw malformed('instruction account index out of range');
      return a;
    });
    instructions.push({ programAddress, accounts, data });
  }
  if (version === 0) {
    const numLookups = r.compactU16();
    if (numLookups !== 0) throw malformed('address lookup tables are not supported here');
  }
  if (!r.done) throw malformed('trailing bytes');
  if (numSigners !== numSignatures) throw malformed('signature count does not match the message header');
  if (numSigners > numKeys || numReadonlySigned >= numSigners || numReadonlyUnsigned > numKeys - numSigners) {
    throw malformed('inconsistent message header');
  }
  const feePayer = accountKeys[0];
  if (feePayer === undefined) throw malformed('no fee payer');
  const messageBytes = new Uint8Array(wire.subarray(messageStart));
  const sig0 = signatures[0] ?? new Uint8Array(64);
  return {
    signatures,
    signature: base58Encode(sig0),
    messageBytes,
    version,
    accountKeys,
    numSigners,
    feePayer,
    recentBlockhash,
    instructions,
    isWritable: (index) =>
      index < numSigners ? index < numSigners - numReadonlySigned : index < numKeys - numReadonlyUnsigned,
  };
}

export function decodeBase64Transaction(text: string): DecodedTransaction {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text.trim())) throw malformed('not base64');
  const bytes = new Uint8Array(Buffer.from(text.trim(), 'base64'));
  if (bytes.length > MAX_TRANSACTION_BYTES) throw malformed(`larger than ${MAX_TRANSACTION_BYTES} bytes`);
  return decodeTransaction(bytes);
}

/** Checks every signature of a decoded transaction against its signer's key. */
export function signaturesValid(tx: DecodedTransaction): boolean {
  for (let i = 0; i < tx.numSigners; i++) {
    const sig = tx.signatures[i];
    const key = tx.accountKeys[i];
    if (!sig || !key || !verifySignature(key, tx.messageBytes, sig)) return false;
  }
  return true;
}

// ---- encoding -------------------------------------------------------------------------------

/** Serializes signatures (in signer order) and message bytes to the wire format. */
export function encodeWire(signatures: readonly Uint8Array[], messageBytes: Uint8Array): Uint8Array {
  const head: number[] = [];
  writeCompactU16(head, signatures.length);
  const out = new Uint8Array(head.length + 64 * signatures.length + messageBytes.length);
  out.set(head, 0);
  let o = head.length;
  for (const s of signatures) {
    out.set(s, o);
    o += 64;
  }
  out.set(messageBytes, o);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}
