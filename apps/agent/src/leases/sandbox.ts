import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { RayVenv } from '@idlegrid/ray';
import type { SandboxMode } from '../config.ts';

/** The unprivileged account Ray nodes run as when the agent runs as root. */
export interface SandboxUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** What a node's sandbox needs to know about that node. */
export interface SandboxNode {
  /** The node's private work dir (Ray's temp dir, HOME, TMPDIR): the only place it may write. */
  readonly workDir: string;
  /** Host GPU indices leased to the node: only their device files are visible in `bwrap`. */
  readonly gpuIndices: readonly number[];
}

/** How Ray nodes of this agent are isolated; built by resolveSandbox. */
export interface Sandbox {
  readonly mode: SandboxMode;
  /** The user Ray runs as; null: the agent's own user. */
  readonly user: SandboxUser | null;
  /** One line for logs and `idlegrid worker setup`. */
  readonly description: string;
  /** argv put before `ray start …` (startRayNode's commandPrefix). */
  commandPrefix(node: SandboxNode): string[];
}

export interface ResolveSandboxOptions {
  /** null: the best that works (bwrap, then user); 'none' is only ever used when asked for. */
  readonly mode: SandboxMode | null;
  readonly userName: string;
  readonly venv: RayVenv;
  /** Directories Ray must never see (the agent's data dir, the device key's directory). */
  readonly hide: readonly string[];
  /** Files the probe checks Ray cannot read (the device key). */
  readonly secrets: readonly string[];
  readonly logger?: Logger;
  /** Create the sandbox user when missing (root only). Default true. */
  readonly createUser?: boolean;
}

/** Thrown when the requested (or any) sandbox cannot work on this host; the message says what to do. */
export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxError';
  }
}

const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Directories hidden behind an empty tmpfs in `bwrap` (besides the agent's own). */
const HIDDEN_SYSTEM_DIRS = ['/root', '/home', '/tmp', '/var/tmp', '/run/user'];
const NVIDIA_SHARED_DEVICES = ['/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools', '/dev/nvidia-modeset', '/dev/nvidia-caps'];
const PROBE_TIMEOUT_MS = 60_000;

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

interface RunResult {
  code: number | null;
  output: string;
}

function run(argv: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  const [command, ...args] = argv;
  if (command === undefined) return Promise.resolve({ code: null, output: 'empty command' });
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(command, args, { cwd: options.cwd ?? '/', env: options.env ?? { PATH: SAFE_PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? PROBE_TIMEOUT_MS);
    const add = (b: Buffer): void => {
      output = (output + b.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, output: e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.trim() });
    });
  });
}

/** The first executable named `name` on PATH, or null. */
export function which(name: string, pathEnv: string = process.env['PATH'] ?? SAFE_PATH): string | null {
  for (const dir of `${pathEnv}:${SAFE_PATH}`.split(':')) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** The user from /etc/passwd (via getent, so NSS users count too), or null. */
export async function lookupUser(name: string): Promise<SandboxUser | null> {
  const found = await new Promise<string | null>((resolve) => {
    execFile('getent', ['passwd', name], { timeout: 10_000 }, (err, stdout) => resolve(err ? null : stdout));
  });
  const fields = found?.trim().split(':');
  if (!fields || fields[0] !== name) return null;
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  return Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid } : null;
}

/**
 * The sandbox user, created with `useradd --system` (own group, no home, no login shell)
 * when missing and the agent runs as root. Refuses a user that is root or the agent itself.
 */
export async function ensureSandboxUser(name: string, options: { create?: boolean; logger?: Logger } = {}): Promise<SandboxUser> {
  let user = await lookupUser(name);
  if (user === null) {
    if (!isRoot() || options.create === false) {
      throw new SandboxError(`the sandbox user ${name} does not exist; run \`idlegrid worker setup\` as root (it creates it with useradd --system)`);
    }
    const shell = ['/usr/sbin/nologin', '/sbin/nologin', '/bin/false'].find((s) => existsSync(s)) ?? '/bin/false';
    const useradd = which('useradd');
    if (useradd === null) throw new SandboxError(`cannot create the sandbox user ${name}: useradd is not installed`);
    const made = await run([useradd, '--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', shell, '--comment', 'idlegrid Ray nodes', name]);
    if (made.code !== 0 && made.code !== 9 /* exists (a concurrent setup) */) {
      throw new SandboxError(`useradd ${name} failed (exit ${String(made.code)}): ${made.output}`);
    }
    options.logger?.info({ user: name }, 'created the sandbox user for Ray nodes');
    user = await lookupUser(name);
    if (user === null) throw new SandboxError(`useradd ${name} succeeded but the user cannot be looked up`);
  }
  if (user.uid === 0 || user.gid === 0) throw new SandboxError(`the sandbox user ${name} must not be root (uid ${user.uid}, gid ${user.gid})`);
  if (user.uid === process.getuid?.()) throw new SandboxError(`the sandbox user ${name} is the agent's own user`);
  return user;
}

/** `setpriv` to the sandbox user, with no capabilities left and no way back through setuid binaries. */
function setprivArgs(setpriv: string, user: SandboxUser): string[] {
  return [
    setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups',
    '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
  ];
}

function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The venv's base interpreter prefix (pyvenv.cfg `home` is its bin dir), resolved. */
async function pythonPrefix(venv: RayVenv): Promise<string | null> {
  const cfg = await readFile(path.join(venv.venvDir, 'pyvenv.cfg'), 'utf8').catch(() => '');
  const home = /^home\s*=\s*(.+)$/m.exec(cfg)?.[1]?.trim();
  const real = await realpath(venv.python).catch(() => null);
  const bin = home ?? (real ? path.dirname(real) : null);
  return bin ? realpath(path.dirname(bin)).catch(() => path.dirname(bin)) : null;
}

/** Mount plan of the `bwrap` sandbox, computed once per agent. */
export interface BwrapPlan {
  /** Hidden behind an empty tmpfs (outermost only). */
  readonly hidden: readonly string[];
  /** Re-exposed read-only inside hidden dirs: the venv and its interpreter. */
  readonly readOnly: readonly string[];
}

export async function planBwrap(venv: RayVenv, hide: readonly string[]): Promise<BwrapPlan> {
  const candidates = [...HIDDEN_SYSTEM_DIRS, ...hide].map((p) => path.resolve(p));
  const existing: string[] = [];
  for (const p of candidates) {
    const real = await realpath(p).catch(() => null);
    if (real !== null) existing.push(p, real);
  }
  const unique = [...new Set(existing)].sort((a, b) => a.length - b.length);
  const hidden = unique.filter((p, i) => !unique.slice(0, i).some((q) => isWithin(p, q)));
  const needed = [venv.venvDir, await realpath(venv.venvDir).catch(() => venv.venvDir), await pythonPrefix(venv)].filter((p): p is string => p !== null);
  const readOnly = [...new Set(needed)].filter((p) => hidden.some((h) => isWithin(p, h)));
  for (const p of readOnly) {
    if (hide.some((h) => isWithin(path.resolve(h), p))) {
      throw new SandboxError(`the Ray venv ${p} contains the agent's private directory ${hide.join(', ')}; install the venv elsewhere (IDLEGRID_RAY_VENV)`);
    }
  }
  return { hidden, readOnly };
}

/** `--dir` for each directory between the hidden root containing `target` and `target`, so a bind can be mounted there. */
function parentDirs(target: string, hidden: readonly string[]): string[] {
  const root = hidden.filter((h) => isWithin(target, h)).sort((a, b) => b.length - a.length)[0];
  if (root === undefined) return [];
  const out: string[] = [];
  let dir = path.dirname(target);
  const chain: string[] = [];
  while (dir !== root && isWithin(dir, root)) {
    chain.unshift(dir);
    dir = path.dirname(dir);
  }
  for (const d of chain) out.push('--perms', '0755', '--dir', d);
  return out;
}

/**
 * bubblewrap argv: the host's filesystem read-only, the agent's directories, home
 * directories and temp dirs hidden (empty tmpfs), the venv re-exposed read-only, the
 * node's work dir the only writable bind; own /proc (PID namespace), /dev (only the
 * leased GPUs' device files), IPC namespace; then, as root, setpriv to the sandbox user.
 */
export function bwrapArgs(bwrap: string, plan: BwrapPlan, node: SandboxNode, user: SandboxUser | null, setpriv: string | null): string[] {
  const args = [bwrap, '--unshare-pid', '--unshare-ipc'];
  if (user === null) args.push('--unshare-user');
  // Ray's object store lives in /dev/shm: a private one, writable by the sandbox user.
  args.push('--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/dev/shm');
  if (node.gpuIndices.length > 0) {
    for (const dev of [...NVIDIA_SHARED_DEVICES, ...node.gpuIndices.map((i) => `/dev/nvidia${i}`)]) args.push('--dev-bind-try', dev, dev);
  }
  for (const dir of plan.hidden) args.push('--perms', dir === '/tmp' || dir === '/var/tmp' ? '1777' : '0755', '--tmpfs', dir);
  for (const dir of plan.readOnly) args.push(...parentDirs(dir, plan.hidden), '--ro-bind', dir, dir);
  args.push(...parentDirs(node.workDir, plan.hidden), '--bind', node.workDir, node.workDir, '--chdir', node.workDir);
  if (user !== null && setpriv !== null) {
    args.push('--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--cap-add', 'CAP_SETPCAP', '--', ...setprivArgs(setpriv, user));
  } else {
    args.push('--');
  }
  return args;
}

function makeSandbox(mode: SandboxMode, user: SandboxUser | null, prefix: (node: SandboxNode) => string[], description: string): Sandbox {
  return { mode, user, description, commandPrefix: prefix };
}

/** A throwaway work dir for probing a sandbox, owned by its user. */
async function withProbeDir<T>(user: SandboxUser | null, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp('/tmp/igr-probe-');
  try {
    if (user !== null) await chown(dir, user.uid, user.gid);
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the venv's Python inside the sandbox: it must import ray and be unable to read what is hidden. */
async function probe(sandbox: Sandbox, venv: RayVenv, secrets: readonly string[]): Promise<void> {
  // Ray starts its workers with sys.executable: check that a second exec (as the sandbox
  // user, with no privilege left) finds the interpreter and its standard library too.
  const script = [
    'import os, subprocess, sys, ray',
    'subprocess.run([sys.executable, "-c", "import ray"], check=True)',
    'def readable(p):',
    '    try:',
    '        with open(p, "rb") as f:',
    '            f.read(1)',
    '        return True',
    '    except OSError:',
    '        return False',
    'leaks = [p for p in sys.argv[1:] if readable(p)]',
    'print("uid", os.getuid(), "readable", leaks)',
    'sys.exit(3 if leaks else 0)',
  ].join('\n');
  await withProbeDir(sandbox.user, async (dir) => {
    // Through sh: the sandbox's first exec may still resolve paths with the agent's rights.
    const argv = [...sandbox.commandPrefix({ workDir: dir, gpuIndices: [] }), '/bin/sh', '-c', 'exec "$@"', 'sh', venv.python, '-c', script, ...secrets];
    const result = await run(argv, { cwd: dir, env: { PATH: `${venv.binDir}:${SAFE_PATH}`, HOME: dir, TMPDIR: dir } });
    if (result.code === 3) throw new SandboxError(`sandbox ${sandbox.mode} leaves private paths readable: ${result.output}`);
    if (result.code !== 0) {
      const who = sandbox.user ? `user ${sandbox.user.name}` : 'the sandbox';
      throw new SandboxError(
        `${who} cannot run the Ray venv's Python ${venv.python} in sandbox ${sandbox.mode} (exit ${String(result.code)}): ` +
          `${result.output.split('\n').slice(-3).join(' | ')}`,
      );
    }
  });
}

async function userSandbox(options: ResolveSandboxOptions): Promise<Sandbox> {
  if (!isRoot()) throw new SandboxError("sandbox 'user' needs the agent to run as root (to switch to the sandbox user)");
  const setpriv = which('setpriv');
  if (setpriv === null) throw new SandboxError("sandbox 'user' needs setpriv (util-linux)");
  const user = await ensureSandboxUser(options.userName, { create: options.createUser !== false, ...(options.logger ? { logger: options.logger } : {}) });
  const sandbox = makeSandbox('user', user, () => setprivArgs(setpriv, user), `Ray runs as ${user.name} (uid ${user.uid}) via setpriv`);
  try {
    await probe(sandbox, options.venv, options.secrets);
  } catch (e) {
    if (!(e instanceof SandboxError)) throw e;
    throw new SandboxError(
      `${e.message}. The venv and its Python must be readable by ${user.name}: install them in a shared place ` +
        `(e.g. IDLEGRID_RAY_VENV=/opt/idlegrid/ray-venv IDLEGRID_PYTHON=/usr/bin/python3 idlegrid worker setup) or use IDLEGRID_SANDBOX=bwrap`,
    );
  }
  return sandbox;
}

async function bwrapSandbox(options: ResolveSandboxOptions): Promise<Sandbox> {
  const bwrap = which('bwrap');
  if (bwrap === null) throw new SandboxError("sandbox 'bwrap' needs bubblewrap (apt-get install -y bubblewrap)");
  let user: SandboxUser | null = null;
  let setpriv: string | null = null;
  if (isRoot()) {
    setpriv = which('setpriv');
    if (setpriv === null) throw new SandboxError("sandbox 'bwrap' as root needs setpriv (util-linux) to drop to the sandbox user");
    user = await ensureSandboxUser(options.userName, { create: options.createUser !== false, ...(options.logger ? { logger: options.logger } : {}) });
  }
  const plan = await planBwrap(options.venv, options.hide);
  const description = user
    ? `Ray runs as ${user.name} (uid ${user.uid}) in bubblewrap (private /proc, /dev, /tmp; ${plan.hidden.join(', ')} hidden)`
    : `Ray runs in bubblewrap with a user namespace (private /proc, /dev, /tmp; ${plan.hidden.join(', ')} hidden)`;
  const sandbox = makeSandbox('bwrap', user, (node) => bwrapArgs(bwrap, plan, node, user, setpriv), description);
  await probe(sandbox, options.venv, options.secrets);
  return sandbox;
}

/**
 * The sandbox for Ray nodes: the requested mode, checked by running the venv's Python in
 * it; or, with mode null, bwrap if it works, else user (as root). Throws SandboxError
 * saying why and what to do when nothing fits; never falls back to `none` by itself.
 */
export async function resolveSandbox(options: ResolveSandboxOptions): Promise<Sandbox> {
  switch (options.mode) {
    case 'none':
      options.logger?.warn("IDLEGRID_SANDBOX=none: Ray nodes (and so buyers' code) run as the agent's own user and can read its files, including the device key");
      return makeSandbox('none', null, () => [], "no sandbox: Ray runs as the agent's own user");
    case 'user':
      return userSandbox(options);
    case 'bwrap':
      return bwrapSandbox(options);
    case null: {
      const reasons: string[] = [];
      try {
        return await bwrapSandbox(options);
      } catch (e) {
        if (!(e instanceof SandboxError)) throw e;
        reasons.push(`bwrap: ${e.message}`);
      }
      if (isRoot()) {
        try {
          return await userSandbox(options);
        } catch (e) {
          if (!(e instanceof SandboxError)) throw e;
          reasons.push(`user: ${e.message}`);
        }
      } else {
        reasons.push("user: needs the agent to run as root");
      }
      throw new SandboxError(
        `no sandbox for Ray works on this host (${reasons.join('; ')}). Install bubblewrap or run the agent as root; ` +
          "IDLEGRID_SANDBOX=none runs buyers' code unconfined as the agent's user",
      );
    }
  }
}

/** The environment a sandboxed node starts from (startRayNode's baseEnv): nothing of the agent's but locale. */
export function sandboxBaseEnv(sandbox: Sandbox, workDir: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['LANG', 'LC_ALL', 'TZ'] as const) {
    const v = env[key];
    if (v) out[key] = v;
  }
  out['HOME'] = path.join(workDir, 'home');
  out['TMPDIR'] = path.join(workDir, 'tmp');
  if (sandbox.mode === 'none') {
    out['PATH'] = env['PATH'] ?? SAFE_PATH;
    for (const key of ['USER', 'LOGNAME'] as const) {
      const v = env[key];
      if (v) out[key] = v;
    }
  } else {
    out['PATH'] = SAFE_PATH;
    const name = sandbox.user?.name ?? env['USER'];
    if (name) {
      out['USER'] = name;
      out['LOGNAME'] = name;
    }
  }
  return out;
}
