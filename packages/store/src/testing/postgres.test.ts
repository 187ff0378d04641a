import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestPostgres } from './postgres.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}

/** Runs a child that starts a server and then ends the way `ending` says, without stop(). */
async function orphanServer(ending: 'exit' | 'SIGKILL'): Promise<{ url: string; dir: string }> {
  const scriptDir = mkdtempSync(join(tmpdir(), 'idlegrid-pg-orphan-'));
  const script = join(scriptDir, 'child.mts');
  const modulePath = fileURLToPath(new URL('./postgres.ts', import.meta.url));
  writeFileSync(
    script,
    `import { startTestPostgres } from ${JSON.stringify(modulePath)};
const server = await startTestPostgres();
process.stdout.write(JSON.stringify({ url: server.url, dir: server.dir }) + '\\n', () => {
  ${ending === 'exit' ? 'process.exit(0);' : "process.kill(process.pid, 'SIGKILL');"}
});
`,
  );
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    return JSON.parse(out.trim()) as { url: string; dir: string };
  } finally {
    rmSync(scriptDir, { recursive: true, force: true });
  }
}

describe('startTestPostgres', () => {
  it('starts a server that accepts connections and stop() removes it', async () => {
    const server = await startTestPostgres();
    expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/idlegrid_test$/);
    expect(await accepts(server.url)).toBe(true);
    await server.stop();
    await server.stop();
    expect(existsSync(server.dir)).toBe(false);
    expect(await accepts(server.url)).toBe(false);
  });

  it('says how to install PostgreSQL when the binaries are missing', async () => {
    await expect(startTestPostgres({ pgRoot: '/nonexistent/postgresql' })).rejects.toThrow(/apt-get install -y postgresql/);
  });

  it.each(['exit', 'SIGKILL'] as const)('cleans up after a test process that ends by %s without stop()', async (ending) => {
    const { url, dir } = await orphanServer(ending);
    expect(await waitFor(() => !existsSync(dir), 10_000)).toBe(true);
    expect(await accepts(url)).toBe(false);
  });
});
