import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RayError } from './errors.ts';

/** Environment variable naming the Ray virtual environment (default `<repo>/.venv-ray`). */
export const RAY_VENV_ENV = 'IDLEGRID_RAY_VENV';

export interface RayVenv {
  readonly venvDir: string;
  readonly binDir: string;
  /** The `ray` CLI of the venv. */
  readonly ray: string;
  /** The venv's python (jobs run `python` from the same bin dir, which is put first on PATH). */
  readonly python: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The repository root, found from this file's location (packages/ray/src). */
export function repoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

export function setupRayScriptPath(): string {
  return path.join(repoRoot(), 'scripts', 'setup-ray.sh');
}

export function rayRequirementsPath(): string {
  return path.join(repoRoot(), 'packages', 'ray', 'requirements.txt');
}

/** The Ray version pinned in packages/ray/requirements.txt (read when called). */
export async function pinnedRayVersion(): Promise<string> {
  const text = await readFile(rayRequirementsPath(), 'utf8');
  const match = /^ray(?:\[[\w,]+\])?==([\w.]+)/m.exec(text);
  if (!match?.[1]) throw new RayError('RAY_SETUP_FAILED', `No ray==VERSION pin in ${rayRequirementsPath()}`);
  return match[1];
}

export function rayVenvDir(env: Env): string {
  const fromEnv = env[RAY_VENV_ENV];
  return fromEnv && fromEnv.length > 0 ? path.resolve(fromEnv) : path.join(repoRoot(), '.venv-ray');
}

function venvPaths(venvDir: string): RayVenv {
  const binDir = path.join(venvDir, 'bin');
  return { venvDir, binDir, ray: path.join(binDir, 'ray'), python: path.join(binDir, 'python') };
}

/**
 * Paths of the Ray venv named by IDLEGRID_RAY_VENV (default `<repo>/.venv-ray`).
 * Throws RAY_NOT_INSTALLED, saying how to install it, when `ray` or `python` is missing.
 */
export function resolveRayVenv(env: Env): RayVenv {
  const venv = venvPaths(rayVenvDir(env));
  const missing = [venv.ray, venv.python].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new RayError(
      'RAY_NOT_INSTALLED',
      `Ray is not installed for idlegrid (missing ${missing.join(', ')}). ` +
        'Run `idlegrid worker setup` or `bash scripts/setup-ray.sh` ' +
        `(set ${RAY_VENV_ENV} to use another virtual environment).`,
      { venvDir: venv.venvDir, missing },
    );
  }
  return venv;
}

export interface EnsureRayVenvOptions {
  /** Receives the setup script's output lines (default: discarded). */
  readonly onOutput?: (chunk: string) => void;
}

/**
 * Runs scripts/setup-ray.sh (a no-op when the venv is current) and resolves the venv.
 * First run downloads Ray with pip: minutes, ~400 MB.
 */
export async function ensureRayVenv(env: Env, options: EnsureRayVenvOptions = {}): Promise<RayVenv> {
  const script = setupRayScriptPath();
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  childEnv[RAY_VENV_ENV] = rayVenvDir(env);
  let tail = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('bash', [script], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (b: Buffer): void => {
      const s = b.toString('utf8');
      tail = (tail + s).slice(-4000);
      options.onOutput?.(s);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) {
    throw new RayError('RAY_SETUP_FAILED', `scripts/setup-ray.sh failed (exit ${String(code)}): ${tail.trim().split('\n').slice(-5).join(' | ')}`, {
      exitCode: code,
    });
  }
  return resolveRayVenv(env);
}
