import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensureRayVenv, type RayVenv } from '@idlegrid/ray';
import { loadAgentConfig, type AgentConfigOverrides, type SandboxMode } from './config.ts';
import { ensureSandboxUser, isRoot, resolveSandbox, type SandboxUser } from './leases/sandbox.ts';

export interface SetupWorkerOptions {
  /** Progress: the Ray install script's output and one line per step. */
  readonly onOutput?: (chunk: string) => void;
  /** Flags that win over the environment (dataDir, keypairPath, sandbox, sandboxUser), as for `worker start`. */
  readonly overrides?: Pick<AgentConfigOverrides, 'dataDir' | 'keypairPath' | 'sandbox' | 'sandboxUser'>;
}

export interface SetupWorkerResult {
  readonly venv: RayVenv;
  /** The sandbox Ray nodes will run in (checked by running the venv's Python in it). */
  readonly sandbox: SandboxMode;
  /** The unprivileged user Ray runs as; null: the agent's own user (not root, or sandbox `none`). */
  readonly sandboxUser: SandboxUser | null;
  /** One line saying what the sandbox does. */
  readonly description: string;
  /** The agent data dir, created 0700. */
  readonly dataDir: string;
}

/**
 * Prepares this machine to run lease nodes (`idlegrid worker setup`): installs the pinned
 * Ray into its venv (scripts/setup-ray.sh; minutes the first time, a no-op after), creates
 * the agent's data dir (0700) and, as root, the sandbox user (`useradd --system`), then
 * checks the sandbox the agent will use by running the venv's Python in it. Reads the same
 * settings as the agent (IDLEGRID_RAY_VENV, IDLEGRID_SANDBOX, IDLEGRID_SANDBOX_USER,
 * IDLEGRID_AGENT_DATA_DIR, …). Throws RayError (RAY_SETUP_FAILED) or SandboxError with
 * what to do.
 */
export async function setupWorker(env: NodeJS.ProcessEnv, options: SetupWorkerOptions = {}): Promise<SetupWorkerResult> {
  const say = (line: string): void => options.onOutput?.(`${line}\n`);
  // The cloud URL plays no part here; a placeholder satisfies the shared loader.
  const config = loadAgentConfig(env, { ...options.overrides, cloudUrl: 'http://setup.invalid' });
  const venv = await ensureRayVenv(env, options.onOutput ? { onOutput: options.onOutput } : {});
  say(`==> Ray venv: ${venv.venvDir}`);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  await chmod(config.dataDir, 0o700);
  say(`==> Agent data dir (0700): ${config.dataDir}`);
  if (isRoot() && config.sandbox !== 'none') {
    const user = await ensureSandboxUser(config.sandboxUser);
    say(`==> Sandbox user: ${user.name} (uid ${user.uid}, gid ${user.gid})`);
  } else if (!isRoot()) {
    say("==> Not root: Ray will run as this user (only the bwrap sandbox can confine it; run setup and the agent as root for a separate user)");
  }
  const sandbox = await resolveSandbox({
    mode: config.sandbox, userName: config.sandboxUser, venv,
    hide: [config.dataDir, dirname(config.keypairPath)], secrets: [config.keypairPath],
  });
  say(`==> Sandbox ${sandbox.mode}: ${sandbox.description}`);
  if (sandbox.mode === 'none') say("==> WARNING: IDLEGRID_SANDBOX=none: buyers' code runs as the agent's user and can read its device key");
  return { venv, sandbox: sandbox.mode, sandboxUser: sandbox.user, description: sandbox.description, dataDir: config.dataDir };
}
