import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leafHash, merkleProof, merkleRoot, verifyMerkleProof, type MeterLeaf } from './merkle.ts';

const leaf = (idx: number, seconds = 10): MeterLeaf => ({
  batch: 'stl-1', idx, lease: 'lse_x', node: idx + 1, device: 'dev', payout: 'pay', fromMs: 0, toMs: seconds * 1000,
  seconds, slots: 1, pricePerGpuHour: '3600000', grossIo: String(seconds * 1000), feeIo: String(seconds * 100),
});

describe('merkle', () => {
  it('proves every leaf of trees of every size up to 33, and refuses a changed record or a wrong index', () => {
    for (let n = 1; n <= 33; n++) {
      const hashes = Array.from({ length: n }, (_, i) => leafHash(leaf(i)));
      const root = merkleRoot(hashes);
      for (let i = 0; i < n; i++) {
        const proof = merkleProof(hashes, i);
        expect(verifyMerkleProof(hashes[i]!, proof, root)).toBe(true);
        expect(verifyMerkleProof(leafHash(leaf(i, 11)), proof, root)).toBe(false);
        if (n > 1) expect(verifyMerkleProof(hashes[(i + 1) % n]!, proof, root)).toBe(false);
      }
    }
  });

  it('changes the root when any leaf changes, and a leaf cannot pose as an inner node', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.nat(), (n, k) => {
        const hashes = Array.from({ length: n }, (_, i) => leafHash(leaf(i)));
        const changed = [...hashes];
        changed[k % n] = leafHash(leaf(k % n, 99));
        expect(merkleRoot(changed)).not.toBe(merkleRoot(hashes));
      }),
    );
    expect(leafHash(leaf(0))).not.toBe(merkleRoot([leafHash(leaf(0)), leafHash(leaf(0))]));
  });

  it('hashes the canonical form: key order does not matter', () => {
    const a = leaf(3);
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as MeterLeaf;
    expect(leafHash(reordered)).toBe(leafHash(a));
  });
});
