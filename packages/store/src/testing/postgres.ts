import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { IdlegridError } from '@idlegrid/domain';

/** A throwaway PostgreSQL server for tests. */
export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/idlegrid_test (trust auth, no password). */
  url: string;
  /** The temporary directory holding the cluster, the socket and the log. */
  dir: string;
  /** Stops the server (immediate mode) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

const PG_ROOT = '/usr/lib/postgresql';
const DATABASE = 'idlegrid_test';

/**
 * Starts a private PostgreSQL server from Debian's binaries: initdb into a temporary
 * directory, listen on a free port on 127.0.0.1 (socket in that directory), fsync off.
 * As root it runs the server as the `postgres` user. If this process exits without
 * calling stop() (crash, kill -9, forgotten afterAll), an exit hook and a small watchdog
 * process stop the server and remove the directory. `pgRoot` (default /usr/lib/postgresql)
 * holds one directory per major version; the newest is used.
 */
export async function startTestPostgres(options: { pgRoot?: string } = {}): Promise<TestPostgres> {
  const bin = findPostgresBin(options.pgRoot ?? PG_ROOT);
  const runAs = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'idlegrid-pg-'));
  const data = join(dir, 'data');
  const cleanup = registerCleanup(dir, data);
  try {
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    await run(runAs, join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], dir);
    const port = await startServer(runAs, bin, dir, data);
    const url = `postgres://postgres@127.0.0.1:${port}/${DATABASE}`;
    await createDatabase(port);
    let stopped: Promise<void> | undefined;
    return {
      url,
      dir,
      stop: () => (stopped ??= stopServer(runAs, bin, data).finally(cleanup.done)),
    };
  } catch (error) {
    await stopServer(runAs, bin, data).catch(() => undefined);
    cleanup.done();
    throw error;
  }
}

function fail(reason: string): IdlegridError {
  return new IdlegridError('STORE_ERROR', { operation: 'startTestPostgres', reason });
}

function findPostgresBin(root: string): string {
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw fail(`PostgreSQL server binaries not found (${root}/*/bin/initdb); install them with: apt-get install -y postgresql`);
  }
  return join(root, newest, 'bin');
}

interface RunAs {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user. */
function postgresUser(): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw fail('running as root but there is no `postgres` user to run the server as; install: apt-get install -y postgresql');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

function run(runAs: RunAs | null, command: string, args: readonly string[], cwd: string): Promise<string> {
  const [file, argv] = runAs ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, [...args]];
  return new Promise((resolve, reject) => {
    // stdout is ignored: pg_ctl's server would otherwise inherit the pipe and keep it open.
    const child = spawn(file, argv, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(stderr);
      else reject(fail(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startServer(runAs: RunAs | null, bin: string, dir: string, data: string): Promise<number> {
  const log = join(dir, 'server.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const options = [
      `-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1',
      '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off',
    ].join(' ');
    try {
      await run(runAs, join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start'], dir);
      return port;
    } catch (error) {
      const logText = existsSync(log) ? readFileSync(log, 'utf8') : '';
      // Another process took the port between freePort() and the bind: try another one.
      if (attempt < 5 && /could not bind|already in use/i.test(logText)) continue;
      throw fail(`${error instanceof Error ? error.message : String(error)}\n${logText.slice(-2000)}`);
    }
  }
}

async function createDatabase(port: number): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    await client.query(`create database ${DATABASE}`);
  } finally {
    await client.end();
  }
}

async function stopServer(runAs: RunAs | null, bin: string, data: string): Promise<void> {
  if (!existsSync(join(data, 'postmaster.pid'))) return;
  await run(runAs, join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], '/');
}

/** Stops the postmaster with SIGQUIT (immediate shutdown), synchronously. */
function killServerSync(data: string): void {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGQUIT');
  } catch {
    // not running
  }
}

const WATCHDOG = `
parent="$1"; data="$2"; dir="$3"
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -QUIT "$pid" 2>/dev/null
  i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
fi
rm -rf "$dir"
`;

/**
 * Two safety nets for a test process that ends without stop(): an 'exit' hook (normal
 * exit, uncaught exception) and a detached watchdog that outlives a SIGKILL and cleans
 * up within about a second of this process disappearing.
 */
function registerCleanup(dir: string, data: string): { done: () => void } {
  const onExit = (): void => {
    killServerSync(data);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  const watchdog = spawn('sh', ['-c', WATCHDOG, 'idlegrid-pg-watchdog', String(process.pid), data, dir], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.on('error', () => undefined);
  watchdog.unref();
  return {
    done: () => {
      process.off('exit', onExit);
      if (watchdog.pid !== undefined) {
        try {
          process.kill(-watchdog.pid, 'SIGTERM'); // the watchdog's process group: sh and its sleep
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
