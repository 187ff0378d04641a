import { chmod, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertPortsFree, isRayError, PORT_BLOCK_SIZE, portBlock, readProcTable, type RayPorts } from '@idlegrid/ray';

/** How many blocks after the base are tried before giving up. */
export const MAX_PORT_BLOCKS = 64;

/** A port block taken for one node; `release` gives it back (idempotent). */
export interface PortBlockLease {
  readonly ports: RayPorts;
  release(): Promise<void>;
}

/** Reserves a block's base across the agents of this host; null when another live agent holds it. */
export type ClaimPortBlock = (base: number) => Promise<(() => Promise<void>) | null>;

export interface ChoosePortBlockOptions {
  /** The first block's base port (config `rayPortBase`). */
  readonly base: number;
  readonly size?: number;
  readonly maxBlocks?: number;
  /** Bases of the blocks this agent's other leases use. */
  readonly inUse: ReadonlySet<number>;
  /** Whether the block's fixed ports can be bound on this host now. Default: assertPortsFree on 0.0.0.0. */
  readonly isFree?: (ports: RayPorts) => Promise<boolean>;
  /** Host-wide reservation among agents (see claimPortBlockFile). Default: none. */
  readonly claim?: ClaimPortBlock;
}

export async function portsFreeOnHost(ports: RayPorts): Promise<boolean> {
  try {
    await assertPortsFree(ports);
    return true;
  } catch (e) {
    if (isRayError(e, 'RAY_PORT_IN_USE')) return false;
    throw e;
  }
}

/**
 * The first block from `base` on (base, base + size, …) that this agent does not use,
 * that no other agent of the host has claimed, and whose fixed ports are free. Throws
 * when none of `maxBlocks` blocks is available.
 */
export async function choosePortBlock(options: ChoosePortBlockOptions): Promise<PortBlockLease> {
  const size = options.size ?? PORT_BLOCK_SIZE;
  const maxBlocks = options.maxBlocks ?? MAX_PORT_BLOCKS;
  const isFree = options.isFree ?? portsFreeOnHost;
  for (let i = 0; i < maxBlocks; i++) {
    const base = options.base + i * size;
    if (base + size - 1 > 65_535) break;
    if (options.inUse.has(base)) continue;
    const release = options.claim ? await options.claim(base) : async () => {};
    if (release === null) continue;
    const ports = portBlock(base, size);
    let free = false;
    try {
      free = await isFree(ports);
    } finally {
      if (!free) await release();
    }
    if (free) return { ports, release: once(release) };
  }
  throw new Error(`no free Ray port block among ${maxBlocks} blocks of ${size} ports from ${options.base} (set IDLEGRID_RAY_PORT_BASE to another range)`);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

/** The directory where agents of this host record which port blocks they hold. */
export function defaultClaimDir(): string {
  return path.join(os.tmpdir(), 'idlegrid-ray-port-claims');
}

async function processStartTicks(pid: number): Promise<number | undefined> {
  return (await readProcTable()).find((p) => p.pid === pid)?.startTicks;
}

/**
 * Claims a port block for this process with an exclusive file `<dir>/<base>` holding its
 * pid and start time. A claim of a process that is gone is taken over. Several agents
 * on one host (`idlegrid up`) thus never pick the same block at the same time.
 */
export function claimPortBlockFile(dir: string = defaultClaimDir()): ClaimPortBlock {
  return async (base) => {
    await mkdir(dir, { recursive: true, mode: 0o1777 });
    await chmod(dir, 0o1777).catch(() => undefined);
    const file = path.join(dir, String(base));
    const mine = JSON.stringify({ pid: process.pid, startTicks: await processStartTicks(process.pid) });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(file, mine, { flag: 'wx', mode: 0o644 });
        return async () => {
          if ((await readFile(file, 'utf8').catch(() => '')) === mine) await unlink(file).catch(() => undefined);
        };
      } catch (e) {
        if (!(e instanceof Error && 'code' in e && e.code === 'EEXIST')) throw e;
      }
      if (await claimIsLive(file)) return null;
      await unlink(file).catch(() => undefined);
    }
    return null;
  };
}

async function claimIsLive(file: string): Promise<boolean> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return false;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || !('pid' in parsed) || typeof parsed.pid !== 'number') return false;
    const ticks = 'startTicks' in parsed ? parsed.startTicks : undefined;
    const now = await processStartTicks(parsed.pid);
    return now !== undefined && (ticks === undefined || ticks === now);
  } catch {
    return false;
  }
}
