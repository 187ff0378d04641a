import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/**
 * The Merkle tree that commits a settlement batch to its meter records: the root is in every
 * payment transaction's memo (`idlegrid:settle:<batch>:<root>`), so anyone holding a record and
 * its proof can check it was paid in that batch. Leaves are sha256(0x00 ‖ canonical JSON of the
 * record), inner nodes sha256(0x01 ‖ left ‖ right) (domain-separated, so a leaf can't pose as a
 * node); an odd node at the end of a level is carried up unchanged. Hashes are lowercase hex.
 */

/** The fields of a meter record that the root commits to (amounts as decimal strings of base units). */
export interface MeterLeaf {
  readonly batch: string;
  readonly idx: number;
  readonly lease: string;
  readonly node: number;
  readonly device: string;
  readonly payout: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly seconds: number;
  readonly slots: number;
  /** MicroUsd per GPU-hour. */
  readonly pricePerGpuHour: string;
  /** IO base units. */
  readonly grossIo: string;
  readonly feeIo: string;
}

export interface MerkleStep {
  /** Which side the sibling is on. */
  readonly side: 'left' | 'right';
  readonly hash: string;
}

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/**
 * The fields of one device's epoch reward that an epoch's root commits to (memo
 * `idlegrid:epoch:<idx>:<root>` on every mint transaction of the epoch).
 */
export interface RewardLeaf {
  readonly epoch: number;
  readonly idx: number;
  readonly device: string;
  readonly payout: string;
  /** IO base units. */
  readonly stipendIo: string;
  readonly bonusIo: string;
  readonly uptimeSeconds: number;
  readonly servedGpuSeconds: number;
  readonly tier: string;
}

function hashLeaf(leaf: MeterLeaf | RewardLeaf): string {
  return sha256(Buffer.from([0]), Buffer.from(canonicalJson(leaf), 'utf8')).toString('hex');
}

export function leafHash(leaf: MeterLeaf): string {
  return hashLeaf(leaf);
}

export function rewardLeafHash(leaf: RewardLeaf): string {
  return hashLeaf(leaf);
}

function parent(left: string, right: string): string {
  return sha256(Buffer.from([1]), Buffer.from(left, 'hex'), Buffer.from(right, 'hex')).toString('hex');
}

function nextLevel(level: readonly string[]): string[] {
  const next: string[] = [];
  for (let i = 0; i < level.length; i += 2) {
    const right = level[i + 1];
    next.push(right === undefined ? level[i]! : parent(level[i]!, right));
  }
  return next;
}

/** The root over leaf hashes in order; the empty tree's root is sha256 of nothing. */
export function merkleRoot(leafHashes: readonly string[]): string {
  if (leafHashes.length === 0) return sha256().toString('hex');
  let level = [...leafHashes];
  while (level.length > 1) level = nextLevel(level);
  return level[0]!;
}

/** The sibling path from leaf `index` to the root. */
export function merkleProof(leafHashes: readonly string[], index: number): MerkleStep[] {
  if (!Number.isInteger(index) || index < 0 || index >= leafHashes.length) throw new RangeError(`no leaf ${index} among ${leafHashes.length}`);
  const proof: MerkleStep[] = [];
  let level = [...leafHashes];
  let i = index;
  while (level.length > 1) {
    const sibling = i % 2 === 0 ? level[i + 1] : level[i - 1];
    if (sibling !== undefined) proof.push({ side: i % 2 === 0 ? 'right' : 'left', hash: sibling });
    level = nextLevel(level);
    i = Math.floor(i / 2);
  }
  return proof;
}

/** True when `leaf` with `proof` hashes up to `root`. */
export function verifyMerkleProof(leaf: string, proof: readonly MerkleStep[], root: string): boolean {
  let hash = leaf;
  for (const step of proof) hash = step.side === 'left' ? parent(step.hash, hash) : parent(hash, step.hash);
  return hash === root;
}
