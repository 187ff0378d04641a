// The parts of the adapter that need no Ray: port layout, argv, env, temp dirs, quoting,
// the process family, and the HTTP client's headers against a plain node:http server.
import { execFileSync, spawn } from 'node:child_process';
import { lstat, mkdtemp, readlink, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shellQuote, pythonEntrypoint } from './entrypoint.ts';
import { createJobsClient } from './jobs-client.ts';
import { rayRequest } from './http-client.ts';
import { blocksOverlap, fixedPorts, portBlock, portBlocks, PORT_BLOCK_SIZE } from './ports.ts';
import net from 'node:net';
import { parseProcStat, ProcessFamily } from './process-family.ts';
import { startRayNode, type StartRayNodeOptions } from './ray-node.ts';
import { rayStartArgs } from './ray-args.ts';
import { rayNodeEnv } from './ray-env.ts';
import { nodeTempDir, RAY_TEMP_DIR_MAX_BYTES } from './temp-dir.ts';
import { resolveRayVenv, type RayVenv } from './venv.ts';

const venv: RayVenv = { venvDir: '/opt/v', binDir: '/opt/v/bin', ray: '/opt/v/bin/ray', python: '/opt/v/bin/python' };
const cleanup: string[] = [];
afterAll(async () => {
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

describe('port blocks', () => {
  it('lays out distinct fixed ports and a worker range inside the block', () => {
    const p = portBlock(30_000);
    const fixed = fixedPorts(p);
    expect(new Set(fixed).size).toBe(fixed.length);
    expect(Math.min(...fixed, p.serveHttp)).toBe(30_000);
    expect(p.minWorker).toBeGreaterThan(Math.max(...fixed, p.serveHttp));
    expect(p.maxWorker).toBe(30_000 + PORT_BLOCK_SIZE - 1);
  });

  it('gives adjacent nodes non-overlapping blocks and rejects bad ones', () => {
    const blocks = portBlocks(20_000, 4);
    for (const [i, a] of blocks.entries()) for (const b of blocks.slice(i + 1)) expect(blocksOverlap(a, b)).toBe(false);
    expect(blocksOverlap(portBlock(20_000), portBlock(20_100))).toBe(true);
    expect(() => portBlock(65_400)).toThrow(/outside/);
    expect(() => portBlock(80)).toThrow(/outside/);
    expect(() => portBlock(20_000, 10)).toThrow(/at least/);
  });
});

describe('ray start arguments and environment', () => {
  const common = { ports: portBlock(30_000), tempDir: '/tmp/x/head', nodeIpAddress: '10.0.0.5', numCpus: 2, numGpus: 1, dashboardHost: '127.0.0.1' };

  it('starts a head with every port explicit', () => {
    const args = rayStartArgs({ ...common, role: 'head', resources: { slot: 1 } });
    const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
    expect(args.slice(0, 2)).toEqual(['start', '--block']);
    expect(args).toContain('--head');
    expect(args).toContain('--disable-usage-stats');
    expect(flag('--port')).toBe('30000');
    expect(flag('--dashboard-port')).toBe('30001');
    expect(flag('--dashboard-agent-grpc-port')).toBe('30004');
    expect(flag('--min-worker-port')).toBe('30020');
    expect(flag('--max-worker-port')).toBe('30199');
    expect(flag('--resources')).toBe('{"slot":1}');
    expect(flag('--temp-dir')).toBe('/tmp/x/head');
    expect(args).not.toContain('--address');
  });

  it('joins a worker to the head and refuses a worker without one', () => {
    const args = rayStartArgs({ ...common, role: 'worker', headAddress: '10.0.0.1:30000' });
    expect(args[args.indexOf('--address') + 1]).toBe('10.0.0.1:30000');
    expect(args).not.toContain('--head');
    expect(args).not.toContain('--dashboard-port');
    expect(() => rayStartArgs({ ...common, role: 'worker' })).toThrow(/headAddress/);
    expect(() => rayStartArgs({ ...common, role: 'head', numCpus: -1 })).toThrow(/numCpus/);
  });

  it('passes only a minimal environment and enforces token auth', () => {
    const env = rayNodeEnv({
      venv,
      token: 't'.repeat(20),
      role: 'head',
      baseEnv: { PATH: '/usr/bin', HOME: '/home/s', IDLEGRID_API_KEY: 'secret', AWS_SECRET_ACCESS_KEY: 'x' },
      extraEnv: { CUDA_VISIBLE_DEVICES: '1', RAY_AUTH_MODE: 'disabled' },
    });
    expect(env.PATH).toBe('/opt/v/bin:/usr/bin');
    expect(env.HOME).toBe('/home/s');
    expect(env.CUDA_VISIBLE_DEVICES).toBe('1');
    expect(env.RAY_AUTH_MODE).toBe('token');
    expect(env.RAY_AUTH_TOKEN).toBe('t'.repeat(20));
    expect(env.RAY_health_check_period_ms).toBe('1000');
    expect(env.IDLEGRID_API_KEY).toBeUndefined();
    expect(env.AWS_SECRET_ACCESS_KEY).toBeUndefined();
    const worker = rayNodeEnv({ venv, token: 't'.repeat(20), role: 'worker', baseEnv: {} });
    expect(worker.RAY_health_check_period_ms).toBeUndefined();
  });
});

describe('temp dirs', () => {
  it('uses <leaseDir>/<node> when short, else a short /tmp dir linked from the lease dir', async () => {
    const short = await mkdtemp('/tmp/igr-u-');
    cleanup.push(short);
    expect((await nodeTempDir(short, 'head')).tempDir).toBe(path.join(short, 'head'));
    const long = path.join(short, 'a-very-long-lease-directory-name-for-this-test');
    const t = await nodeTempDir(long, 'w1');
    cleanup.push(t.tempDir);
    expect(Buffer.byteLength(t.tempDir)).toBeLessThanOrEqual(RAY_TEMP_DIR_MAX_BYTES);
    expect(t.link).toBe(path.join(long, 'w1'));
    expect(await readlink(path.join(long, 'w1'))).toBe(t.tempDir);
    expect((await lstat(t.tempDir)).mode & 0o777).toBe(0o700);
    expect((await nodeTempDir(long, 'w1')).tempDir).toBe(t.tempDir);
    await expect(nodeTempDir(short, '../escape')).rejects.toThrow(/Node name/);
  });

  it('keeps the worst-case socket path of Ray 2.60 within 107 bytes', () => {
    const worst = `${'/'.padEnd(RAY_TEMP_DIR_MAX_BYTES, 'x')}/session_2026-11-24_23-21-47_020261_4194304/sockets/dash_MetricsHead`;
    expect(Buffer.byteLength(worst)).toBeLessThanOrEqual(107);
  });
});

describe('entrypoints', () => {
  it('quotes for the shell so the script arrives byte for byte', () => {
    const script = `print("it's", 'ok', "$HOME", \`x\`)\n# \\ done`;
    expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(script)}`], { encoding: 'utf8' })).toBe(script);
    expect(pythonEntrypoint('print(1)')).toBe(`python -c 'print(1)'`);
  });
});

describe('the process family', () => {
  it('parses /proc stat lines whose command has spaces and parentheses', () => {
    const line = '4242 (ray::(Idle) x) S 1 4200 4100 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0';
    expect(parseProcStat(line)).toMatchObject({ pid: 4242, ppid: 1, pgid: 4200, sid: 4100, state: 'S', startTicks: 987654 });
  });

  it('terminates a detached leader and children that moved to their own process group', async () => {
    // `set -m`: background jobs get their own process group, like Ray's worker processes.
    const child = spawn('bash', ['-c', 'set -m; sleep 300 & sleep 300 & trap "" TERM; wait'], { detached: true, stdio: 'ignore' });
    const pid = child.pid ?? 0;
    const family = new ProcessFamily(pid);
    let members = await family.members();
    // Wait until both background jobs exist and have moved to their own groups (setpgid races the fork).
    for (let i = 0; i < 100 && (members.length !== 3 || new Set(members.map((m) => m.pgid)).size !== 3); i++) {
      await new Promise((r) => setTimeout(r, 50));
      members = await family.members();
    }
    expect(members.length).toBe(3);
    expect(new Set(members.map((m) => m.pgid)).size).toBe(3);
    await family.terminate(300);
    expect(await family.members(true)).toEqual([]);
  });
});

describe('the HTTP client', () => {
  it('sends no browser headers, carries the token and keeps a proxy path prefix', async () => {
    const seen: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders }> = [];
    const server = http.createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers });
      if (req.url?.endsWith('/api/jobs/missing')) {
        res.writeHead(404).end('Job missing does not exist');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ submission_id: 'j1', job_id: null, extra: 1 }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/clusters/c1/ray/`;
      const jobs = createJobsClient({ url, token: 'tok-tok-tok-tok-tok', headers: { Authorization: 'Bearer api-key' } });
      expect(await jobs.submitJob({ entrypoint: 'echo hi', metadata: { a: 'b' } })).toMatchObject({ submission_id: 'j1', extra: 1 });
      await expect(jobs.getJob('missing')).rejects.toMatchObject({ code: 'RAY_JOB_NOT_FOUND' });
      const post = seen[0];
      expect(post?.method).toBe('POST');
      expect(post?.url).toBe('/v1/clusters/c1/ray/api/jobs/');
      expect(post?.headers['x-ray-authorization']).toBe('Bearer tok-tok-tok-tok-tok');
      expect(post?.headers.authorization).toBe('Bearer api-key');
      expect(post?.headers['user-agent']).toBeUndefined();
      expect(Object.keys(post?.headers ?? {}).filter((h) => h.startsWith('sec-fetch'))).toEqual([]);
    } finally {
      await new Promise((r) => server.close(r));
    }
    await expect(rayRequest({ url: 'http://127.0.0.1:9', timeoutMs: 2_000 }, { method: 'GET', path: '/' })).rejects.toMatchObject({ code: 'RAY_UNREACHABLE' });
  });
});

describe('the Ray venv', () => {
  it('says how to install Ray when the venv is missing', () => {
    expect(() => resolveRayVenv({ IDLEGRID_RAY_VENV: '/nonexistent/venv' })).toThrow(/idlegrid worker setup.*scripts\/setup-ray\.sh/);
  });
});

describe('startRayNode failures (no Ray needed)', () => {
  const base = async (): Promise<StartRayNodeOptions> => {
    const leaseDir = await mkdtemp('/tmp/igr-u-');
    cleanup.push(leaseDir);
    const ports = portBlock(45_000 + (process.pid % 50) * PORT_BLOCK_SIZE);
    return { role: 'head', venv, token: 'tok-tok-tok-tok-tok', ports, leaseDir, nodeName: 'head', nodeIpAddress: '127.0.0.1', numCpus: 1 };
  };

  it('reports a ray start that exits, with its log, and leaves nothing running', async () => {
    const o = await base();
    const err = await startRayNode({ ...o, commandPrefix: ['sh', '-c', 'echo "boom: no GCS" >&2; exit 3', 'sh'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RAY_START_FAILED' });
    expect(String(err)).toContain('boom: no GCS');
    expect(String(err)).toContain('exit 3');
  });

  it('reports a command that cannot run', async () => {
    const o = await base();
    await expect(startRayNode({ ...o, commandPrefix: ['/nonexistent/wrapper'] })).rejects.toMatchObject({ code: 'RAY_START_FAILED' });
  });

  it('refuses weak tokens, busy ports and an unreachable head before spawning', async () => {
    const o = await base();
    await expect(startRayNode({ ...o, token: 'short' })).rejects.toMatchObject({ code: 'RAY_INVALID_OPTIONS' });
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(o.ports.nodeManager, '0.0.0.0', r));
    try {
      await expect(startRayNode(o)).rejects.toMatchObject({ code: 'RAY_PORT_IN_USE' });
    } finally {
      await new Promise((r) => busy.close(r));
    }
    const worker = { ...o, role: 'worker' as const, nodeName: 'w1', headAddress: '127.0.0.1:9', headReachableWithinMs: 300 };
    await expect(startRayNode(worker)).rejects.toMatchObject({ code: 'RAY_UNREACHABLE' });
  });
});
