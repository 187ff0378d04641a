// Sandbox argv, environment and leftover cleanup without Ray (the real sandbox runs in lease-runtime.ray.test.ts).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readlink, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readProcTable, type RayVenv } from '@idlegrid/ray';
import { bwrapArgs, planBwrap, resolveSandbox, sandboxBaseEnv, type Sandbox } from './sandbox.ts';
import { SERVE_DEFAULTS_SITECUSTOMIZE, serveEnv } from './serve-defaults.ts';
import { cleanUpLeftovers, createWorkDir, linkedWorkDir } from './work-dir.ts';

const USER = { name: 'idlegrid-ray', uid: 999, gid: 995 };
const node = { workDir: '/tmp/igr-abc123', gpuIndices: [] };

describe('bwrapArgs', () => {
  const plan = { hidden: ['/tmp', '/root', '/home', '/var/lib/idlegrid'], readOnly: ['/root/.pyenv/versions/3.11.7'] };

  it('shows the host read-only, hides private dirs, re-exposes the interpreter and binds only the work dir writable', () => {
    const args = bwrapArgs('/usr/bin/bwrap', plan, node, USER, '/usr/bin/setpriv');
    const text = args.join(' ');
    expect(args[0]).toBe('/usr/bin/bwrap');
    expect(text).toContain('--unshare-pid --unshare-ipc --ro-bind / / --proc /proc --dev /dev --perms 1777 --tmpfs /dev/shm');
    expect(text).toContain('--perms 1777 --tmpfs /tmp');
    expect(text).toContain('--perms 0755 --tmpfs /root');
    expect(text).toContain('--perms 0755 --tmpfs /var/lib/idlegrid');
    expect(text).toContain('--perms 0755 --dir /root/.pyenv --perms 0755 --dir /root/.pyenv/versions --ro-bind /root/.pyenv/versions/3.11.7 /root/.pyenv/versions/3.11.7');
    expect(text).toContain('--bind /tmp/igr-abc123 /tmp/igr-abc123 --chdir /tmp/igr-abc123');
    expect(text).not.toContain('--unshare-user');
    expect(text).not.toContain('nvidia');
    // as root: drop to the sandbox user with nothing left
    expect(text.endsWith('-- /usr/bin/setpriv --reuid=999 --regid=995 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs --')).toBe(true);
    // binds come after the tmpfs that would hide them
    expect(args.indexOf('/root/.pyenv/versions/3.11.7')).toBeGreaterThan(args.lastIndexOf('--tmpfs'));
  });

  it('without root uses a user namespace, and shows the leased GPUs only', () => {
    const args = bwrapArgs('bwrap', plan, { ...node, gpuIndices: [1, 3] }, null, null);
    const text = args.join(' ');
    expect(text).toContain('--unshare-user');
    expect(text).not.toContain('setpriv');
    expect(args.at(-1)).toBe('--');
    expect(text).toContain('--dev-bind-try /dev/nvidia1 /dev/nvidia1');
    expect(text).toContain('--dev-bind-try /dev/nvidia3 /dev/nvidia3');
    expect(text).toContain('--dev-bind-try /dev/nvidiactl /dev/nvidiactl');
    expect(text).not.toContain('/dev/nvidia0');
  });
});

describe('planBwrap', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'igr-plan-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function fakeVenv(): Promise<RayVenv> {
    const prefix = path.join(dir, 'python');
    const venvDir = path.join(dir, 'venv');
    await mkdir(path.join(prefix, 'bin'), { recursive: true });
    await mkdir(path.join(venvDir, 'bin'), { recursive: true });
    await writeFile(path.join(venvDir, 'pyvenv.cfg'), `home = ${path.join(prefix, 'bin')}\nversion = 3.11.7\n`);
    return { venvDir, binDir: path.join(venvDir, 'bin'), ray: path.join(venvDir, 'bin', 'ray'), python: path.join(venvDir, 'bin', 'python') };
  }

  it('hides the outermost private dirs and re-exposes the venv and its interpreter inside them', async () => {
    const venv = await fakeVenv();
    const dataDir = path.join(dir, 'agent');
    await mkdir(dataDir);
    const plan = await planBwrap(venv, [dataDir]);
    expect(plan.hidden).toContain('/tmp');
    expect(plan.hidden).not.toContain(dataDir); // already inside hidden /tmp
    expect(plan.readOnly).toEqual(expect.arrayContaining([venv.venvDir, path.join(dir, 'python')]));
  });

  it("refuses a venv that contains the agent's private dir", async () => {
    const venv = await fakeVenv();
    await expect(planBwrap(venv, [path.join(venv.venvDir, 'secrets')])).rejects.toThrow(/contains the agent's private directory/);
  });
});

describe('sandbox environment', () => {
  const sandbox = (mode: Sandbox['mode'], user: Sandbox['user']): Sandbox => ({ mode, user, description: '', commandPrefix: () => [] });
  const agentEnv = { PATH: '/root/.pyenv/shims:/usr/bin', HOME: '/root', USER: 'root', LANG: 'C.UTF-8', IDLEGRID_SECRET: 'x', AWS_SECRET_ACCESS_KEY: 'y' };

  it("passes nothing of the agent's environment but locale; HOME and TMPDIR are in the work dir", () => {
    expect(sandboxBaseEnv(sandbox('bwrap', USER), '/tmp/igr-1', agentEnv)).toEqual({
      LANG: 'C.UTF-8', HOME: '/tmp/igr-1/home', TMPDIR: '/tmp/igr-1/tmp', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      USER: 'idlegrid-ray', LOGNAME: 'idlegrid-ray',
    });
    expect(sandboxBaseEnv(sandbox('none', null), '/tmp/igr-1', agentEnv)).toMatchObject({ PATH: agentEnv.PATH, USER: 'root', HOME: '/tmp/igr-1/home' });
  });

  it('sets Serve defaults for the head: host, port (through the sitecustomize hook), fallback ports in the block', () => {
    expect(serveEnv('10.0.0.2', { base: 20_000, serveHttp: 20_009 }, '/tmp/igr-1/python')).toEqual({
      PYTHONPATH: '/tmp/igr-1/python',
      RAY_SERVE_DEFAULT_HTTP_HOST: '10.0.0.2',
      IDLEGRID_SERVE_HTTP_PORT: '20009',
      RAY_SERVE_FALLBACK_PROXY_HTTP_PORT: '20010',
      RAY_SERVE_FALLBACK_PROXY_GRPC_PORT: '20011',
    });
    expect(SERVE_DEFAULTS_SITECUSTOMIZE).toContain('module.DEFAULT_HTTP_PORT = int(port)');
    expect(SERVE_DEFAULTS_SITECUSTOMIZE).toContain('"ray.serve._private.constants"');
  });

  it("'none' is taken only when asked for", async () => {
    const venv = { venvDir: '/nonexistent', binDir: '/nonexistent/bin', ray: '/nonexistent/bin/ray', python: '/nonexistent/bin/python' };
    const none = await resolveSandbox({ mode: 'none', userName: 'idlegrid-ray', venv, hide: [], secrets: [] });
    expect(none.commandPrefix(node)).toEqual([]);
    await expect(resolveSandbox({ mode: null, userName: 'idlegrid-ray', venv, hide: [], secrets: [], createUser: false })).rejects.toThrow(/IDLEGRID_SANDBOX=none/);
  });
});

describe('work dirs and leftovers', () => {
  let dataDir = '';
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'igr-left-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates a short private work dir linked from the lease dir, with the Serve hook', async () => {
    const leaseDir = path.join(dataDir, 'leases', 'lse_00000000000000000001');
    await mkdir(leaseDir, { recursive: true });
    const work = await createWorkDir(leaseDir, 'head', null);
    expect(Buffer.byteLength(work.rayTemp)).toBeLessThanOrEqual(35);
    expect(work.rayTemp).toBe(path.join(work.dir, 'ray'));
    expect((await stat(work.dir)).mode & 0o777).toBe(0o700);
    expect(await readlink(path.join(leaseDir, 'head'))).toBe(work.dir);
    expect(await linkedWorkDir(leaseDir, 'head')).toBe(work.dir);
    expect(existsSync(path.join(work.pythonPath, 'sitecustomize.py'))).toBe(true);
    await rm(work.dir, { recursive: true });
  });

  /** A fake node: a detached session (leader `sleep`, a child mentioning the work dir like Ray's processes). */
  async function leftoverNode(leaseDir: string): Promise<{ work: string; pid: number; session: () => Promise<number[]> }> {
    await mkdir(leaseDir, { recursive: true });
    const work = await createWorkDir(leaseDir, 'worker', null);
    const child = `${JSON.stringify(process.execPath)} -e 'setTimeout(() => {}, 300000)' ${path.join(work.dir, 'session_x')}`;
    const leader = spawn('sh', ['-c', `${child} & exec sleep 301`], { detached: true, stdio: 'ignore' });
    leader.unref();
    const pid = leader.pid ?? 0;
    const startTicks = (await readProcTable()).find((p) => p.pid === pid)?.startTicks;
    await writeFile(path.join(leaseDir, 'worker.pid'), JSON.stringify({ pid, startTicks, tempDir: work.dir }));
    await writeFile(path.join(leaseDir, 'worker.log'), 'ray start …\n');
    const session = async (): Promise<number[]> => (await readProcTable()).filter((p) => p.sid === pid && p.state !== 'Z').map((p) => p.pid);
    for (let i = 0; i < 200 && (await session()).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    return { work: work.dir, pid, session };
  }

  it('after a crash: stops a node left running by its pid file and removes its dirs', async () => {
    const leaseDir = path.join(dataDir, 'leases', 'lse_00000000000000000001');
    const left = await leftoverNode(leaseDir);
    expect((await left.session()).length).toBe(2);
    expect(await cleanUpLeftovers(path.join(dataDir, 'leases'))).toEqual(['lse_00000000000000000001']);
    expect(await left.session()).toEqual([]);
    expect(existsSync(leaseDir)).toBe(false);
    expect(existsSync(left.work)).toBe(false);
    expect(await cleanUpLeftovers(path.join(dataDir, 'missing'))).toEqual([]);
  });

  it('after a crash: finds what is left of a node whose leader is gone by its work dir', async () => {
    const leaseDir = path.join(dataDir, 'leases', 'lse_00000000000000000002');
    const left = await leftoverNode(leaseDir);
    process.kill(left.pid, 'SIGKILL');
    for (let i = 0; i < 200 && (await left.session()).length > 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await left.session()).length).toBe(1); // the orphan
    await cleanUpLeftovers(path.join(dataDir, 'leases'));
    expect(await left.session()).toEqual([]);
    expect(existsSync(left.work)).toBe(false);
  });
});
