import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdlegridError } from '@idlegrid/domain';
import {
  canonicalJson, generateKeypair, loadOrCreateKeypair, parseKeypairJson, signAgentMessage, signBytes,
  supplyQuerySchema, verifyAgentMessage, verifyBytes, keypairToJson, heartbeatSchema,
} from './index.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  });
  it('refuses values that have no canonical form', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow();
    expect(() => canonicalJson({ a: 1n })).toThrow();
  });
});

describe('keypairs in solana-keygen format', () => {
  it('round-trips through the 64-byte JSON array', () => {
    const kp = generateKeypair();
    const again = parseKeypairJson(keypairToJson(kp), 'mem');
    expect(again.address).toBe(kp.address);
    expect(JSON.parse(keypairToJson(kp))).toHaveLength(64);
  });
  it('refuses a file whose public half does not match', () => {
    const bytes = JSON.parse(keypairToJson(generateKeypair())) as number[];
    bytes[40] = (bytes[40]! + 1) % 256;
    expect(() => parseKeypairJson(JSON.stringify(bytes), 'f.json')).toThrow(IdlegridError);
    expect(() => parseKeypairJson('[1,2,3]', 'f.json')).toThrow(/64 bytes/);
  });
  it('creates a key file with mode 0600 once and loads it afterwards', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idlegrid-key-'));
    const path = join(dir, 'sub', 'device.json');
    const first = await loadOrCreateKeypair(path);
    expect(first.created).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const second = await loadOrCreateKeypair(path);
    expect(second.created).toBe(false);
    expect(second.keypair.address).toBe(first.keypair.address);
    expect(await readFile(path, 'utf8')).toBe(keypairToJson(first.keypair));
  });
  it('does not silently replace a corrupt key file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idlegrid-key-'));
    const path = join(dir, 'device.json');
    await writeFile(path, 'garbage');
    await expect(loadOrCreateKeypair(path)).rejects.toThrow(/not JSON/);
  });
});

describe('signatures', () => {
  it('verifies only the exact message, signer and nonce', () => {
    const kp = generateKeypair();
    const other = generateKeypair();
    const msg = { type: 'heartbeat', seq: 1, load: { cpu: 0.5 } };
    const signed = signAgentMessage(kp, msg, 'nonce-aaaaaaaaaaaaaaaa');
    expect(verifyAgentMessage(kp.address, signed, 'nonce-aaaaaaaaaaaaaaaa')).toBe(true);
    expect(verifyAgentMessage(kp.address, { ...signed, seq: 2 }, 'nonce-aaaaaaaaaaaaaaaa')).toBe(false);
    expect(verifyAgentMessage(kp.address, signed, 'nonce-bbbbbbbbbbbbbbbb')).toBe(false);
    expect(verifyAgentMessage(other.address, signed, 'nonce-aaaaaaaaaaaaaaaa')).toBe(false);
  });
  it('returns false rather than throwing on garbage keys and signatures', () => {
    const kp = generateKeypair();
    const sig = signBytes(kp, 'x');
    expect(verifyBytes(kp.address, 'x', sig)).toBe(true);
    expect(verifyBytes('not-an-address', 'x', sig)).toBe(false);
    expect(verifyBytes(kp.address, 'x', '0000')).toBe(false);
  });
});

describe('schemas', () => {
  it('accepts region lists comma-separated or repeated and rejects unknown regions', () => {
    expect(supplyQuerySchema.parse({ region: 'us-east,eu-west' }).region).toEqual(['us-east', 'eu-west']);
    expect(supplyQuerySchema.parse({ region: ['us-east'] }).region).toEqual(['us-east']);
    expect(supplyQuerySchema.safeParse({ region: 'mars-1' }).success).toBe(false);
    expect(supplyQuerySchema.safeParse({ maxPrice: '-1' }).success).toBe(false);
  });
  it('rejects a heartbeat with a non-positive seq', () => {
    const base = { type: 'heartbeat', sentAt: 1, load: { cpu: 0, memoryUsedBytes: 0, gpuUtilization: [] }, coordinate: null, leases: [], sig: '1'.repeat(64) };
    expect(heartbeatSchema.safeParse({ ...base, seq: 1 }).success).toBe(true);
    expect(heartbeatSchema.safeParse({ ...base, seq: 0 }).success).toBe(false);
  });
});
