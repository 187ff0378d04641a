import type { Brand } from './brand.ts';
import { base58Decode } from './base58.ts';
import { IdlegridError } from './errors.ts';
import type { RandomSource } from './random.ts';

/** A Solana address: base58 of a 32-byte ed25519 public key. */
export type Address = Brand<string, 'Address'>;
/** A device is identified by the address of its ed25519 identity key (so it is an Address). */
export type DeviceId = Address;
export type LeaseId = Brand<string, 'LeaseId'>;
export type ApiKeyId = Brand<string, 'ApiKeyId'>;

export function isAddress(value: string): value is Address {
  if (value.length < 32 || value.length > 44) return false;
  return base58Decode(value)?.length === 32;
}

export function assertAddress(value: string): asserts value is Address {
  if (!isAddress(value)) throw new IdlegridError('INVALID_ADDRESS', { value });
}

export function toAddress(value: string): Address {
  assertAddress(value);
  return value;
}

export function toDeviceId(address: Address): DeviceId {
  return address;
}

const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function randomId(prefix: string, random: RandomSource, length = 20): string {
  let out = prefix;
  for (let i = 0; i < length; i++) out += ID_ALPHABET[Math.floor(random() * ID_ALPHABET.length)];
  return out;
}

const LEASE_ID = /^lse_[0-9a-hjkmnp-tv-z]{20}$/;

export function isLeaseId(value: string): value is LeaseId {
  return LEASE_ID.test(value);
}

export function newLeaseId(random: RandomSource): LeaseId {
  return randomId('lse_', random) as LeaseId;
}

export function newApiKeyId(random: RandomSource): ApiKeyId {
  return randomId('key_', random) as ApiKeyId;
}
