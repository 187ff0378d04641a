import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { RAY_TEMP_DIR_MAX_BYTES, stopStaleRayNode } from '@idlegrid/ray';
import type { SandboxUser } from './sandbox.ts';
import { SERVE_DEFAULTS_SITECUSTOMIZE } from './serve-defaults.ts';

/** Prefix of node work dirs under the temp root: `<tmp>/igr-XXXXXX`. */
const WORK_DIR_PREFIX = 'igr-';

/**
 * A node's private work dir (short, for Ray's unix sockets), owned by the sandbox user,
 * mode 0700, holding `ray/` (Ray's `--temp-dir`: Ray makes that one 0777, so it must not be
 * the top), `home/`, `tmp/` and `python/` (the Serve defaults hook). `<leaseDir>/<nodeName>`
 * links to it.
 */
export interface WorkDir {
  readonly dir: string;
  readonly rayTemp: string;
  readonly home: string;
  readonly tmp: string;
  readonly pythonPath: string;
}

function tempRoot(): string {
  const candidate = os.tmpdir();
  return Buffer.byteLength(path.join(candidate, `${WORK_DIR_PREFIX}XXXXXX`, 'ray')) <= RAY_TEMP_DIR_MAX_BYTES ? candidate : '/tmp';
}

async function chownTree(dir: string, user: SandboxUser): Promise<void> {
  await chown(dir, user.uid, user.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, user);
    else await chown(p, user.uid, user.gid);
  }
}

export async function createWorkDir(leaseDir: string, nodeName: string, user: SandboxUser | null): Promise<WorkDir> {
  const dir = await mkdtemp(path.join(tempRoot(), WORK_DIR_PREFIX));
  await chmod(dir, 0o700);
  const work = { dir, rayTemp: path.join(dir, 'ray'), home: path.join(dir, 'home'), tmp: path.join(dir, 'tmp'), pythonPath: path.join(dir, 'python') };
  for (const sub of [work.rayTemp, work.home, work.tmp, work.pythonPath]) await mkdir(sub, { mode: 0o700 });
  await writeFile(path.join(work.pythonPath, 'sitecustomize.py'), SERVE_DEFAULTS_SITECUSTOMIZE, { mode: 0o600 });
  if (user !== null) await chownTree(dir, user);
  const link = path.join(leaseDir, nodeName);
  await rm(link, { recursive: true, force: true });
  await symlink(dir, link);
  return work;
}

/** The work dir `<leaseDir>/<nodeName>` links to, if it is one of ours. */
export async function linkedWorkDir(leaseDir: string, nodeName: string): Promise<string | null> {
  const target = await readlink(path.join(leaseDir, nodeName)).catch(() => null);
  if (target === null || !path.isAbsolute(target) || !path.basename(target).startsWith(WORK_DIR_PREFIX)) return null;
  return target;
}

export async function removeWorkDir(dir: string): Promise<void> {
  const st = await lstat(dir).catch(() => null);
  if (st?.isDirectory() && path.basename(dir).startsWith(WORK_DIR_PREFIX)) await rm(dir, { recursive: true, force: true });
}

/** Processes whose command line mentions `marker` (a node's unique work dir): Ray's raylet, GCS, workers… */
async function processesMentioning(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) pids.push(Number(name));
  }
  return pids;
}

/**
 * Kills what is left of a node whose work dir is `dir`, even when its leader is gone (its
 * processes are found by the work dir in their command lines). Returns how many were killed.
 */
export async function killProcessesOf(dir: string, waitMs = 5_000): Promise<number> {
  const marker = `${dir}/`;
  let pids = await processesMentioning(marker);
  const count = pids.length;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + waitMs;
  while (pids.length > 0 && Date.now() < deadline) {
    await sleep(100);
    pids = await processesMentioning(marker);
  }
  return count;
}

/**
 * After an agent crash or kill: stops every Ray node a previous run left under
 * `<dataDir>/leases/*` (by its pid file, then by its work dir) and removes the lease
 * dirs and work dirs. Returns the lease ids cleaned up.
 */
export async function cleanUpLeftovers(leasesDir: string, logger?: Logger): Promise<string[]> {
  const leases = await readdir(leasesDir, { withFileTypes: true }).catch(() => []);
  const cleaned: string[] = [];
  for (const lease of leases) {
    if (!lease.isDirectory()) continue;
    const leaseDir = path.join(leasesDir, lease.name);
    const names = new Set<string>();
    for (const f of await readdir(leaseDir).catch(() => [])) {
      const m = /^([\w.-]+)\.(pid|log)$/.exec(f);
      if (m?.[1]) names.add(m[1]);
    }
    for (const nodeName of names) {
      const work = await linkedWorkDir(leaseDir, nodeName);
      try {
        const stopped = await stopStaleRayNode(leaseDir, nodeName);
        const swept = work ? await killProcessesOf(work) : 0;
        if (stopped || swept > 0) logger?.warn({ leaseId: lease.name, node: nodeName, swept }, 'stopped a Ray node left by a previous agent run');
      } catch (err) {
        logger?.error({ err, leaseId: lease.name, node: nodeName }, 'could not stop a Ray node left by a previous agent run');
      }
      if (work) await removeWorkDir(work);
    }
    await rm(leaseDir, { recursive: true, force: true });
    cleaned.push(lease.name);
  }
  return cleaned;
}
