import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';

export const DEFAULT_CLOUD_URL = 'http://127.0.0.1:8470';

const homeConfigSchema = z.object({
  cloudUrl: z.string().url().optional(),
  /** API keys by cloud URL (each cloud issues its own). */
  apiKeys: z.record(z.string(), z.string()).default({}),
});
export type HomeConfig = z.infer<typeof homeConfigSchema>;

/** Where the CLI keeps its wallet, API keys and default cloud: $IDLEGRID_HOME or ~/.idlegrid. */
export function idlegridHome(env: NodeJS.ProcessEnv): string {
  return env['IDLEGRID_HOME'] ?? join(homedir(), '.idlegrid');
}

export function walletPath(env: NodeJS.ProcessEnv): string {
  return join(idlegridHome(env), 'wallet.json');
}

function configPath(env: NodeJS.ProcessEnv): string {
  return join(idlegridHome(env), 'config.json');
}

export async function readHomeConfig(env: NodeJS.ProcessEnv): Promise<HomeConfig> {
  try {
    return homeConfigSchema.parse(JSON.parse(await readFile(configPath(env), 'utf8')));
  } catch {
    return { apiKeys: {} };
  }
}

export async function updateHomeConfig(env: NodeJS.ProcessEnv, change: (c: HomeConfig) => HomeConfig): Promise<void> {
  const path = configPath(env);
  const next = change(await readHomeConfig(env));
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** --cloud flag, then IDLEGRID_CLOUD_URL, then the saved default, then the local default. */
export async function resolveCloudUrl(flag: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const raw = flag ?? env['IDLEGRID_CLOUD_URL'] ?? (await readHomeConfig(env)).cloudUrl ?? DEFAULT_CLOUD_URL;
  return raw.replace(/\/+$/, '');
}
