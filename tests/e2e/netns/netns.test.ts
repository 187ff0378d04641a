// The netns harness against the real kernel: namespaces, veths, a bridge, real TCP. No mocks.
// Needs root and `ip netns`; without them every test fails with the reason (it never skips).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_DIR, assertNetnsAvailable, cleanupStale, createHosts, killGroup, type Host, type HostNetwork } from './hosts.ts';

/** `node -e CLIENT ip port timeoutMs [bytes]`: connects, sends a line (or `bytes` zeros), prints one JSON line. */
const CLIENT = `
const [ip, port, timeoutMs, bytes] = process.argv.slice(1);
const started = Date.now();
const s = require('net').connect(Number(port), ip);
let data = '';
const done = (r) => { console.log(JSON.stringify({ ...r, ms: Date.now() - started })); process.exit(0); };
s.setTimeout(Number(timeoutMs), () => done({ ok: false, error: 'timeout' }));
s.on('error', (e) => done({ ok: false, error: e.code }));
s.on('connect', () => {
  if (bytes !== undefined) { s.end(Buffer.alloc(Number(bytes))); s.on('close', () => done({ ok: true })); return; }
  s.write('hello\\n');
});
s.on('data', (d) => { data += d; if (data.includes('\\n')) done({ ok: true, reply: data.trim() }); });
`;

/** `node -e SERVER`: listens on 0.0.0.0 (inside the namespace), answers each line with "<ip> says <line>". */
const SERVER = `
const srv = require('net').createServer((c) => {
  c.on('data', (d) => c.end(process.argv[1] + ' says ' + d.toString()));
});
srv.listen(0, '0.0.0.0', () => console.log(JSON.stringify({ port: srv.address().port })));
`;

interface ClientResult {
  ok: boolean;
  reply?: string;
  error?: string;
  ms: number;
}

async function connectFrom(host: Host, ip: string, port: number, timeoutMs = 2_000, bytes?: number): Promise<ClientResult> {
  const args = ['-e', CLIENT, ip, String(port), String(timeoutMs), ...(bytes === undefined ? [] : [String(bytes)])];
  const r = await host.run(process.execPath, args, { timeoutMs: timeoutMs + 10_000 });
  if (r.code !== 0) throw new Error(`client in ${host.name} exited ${String(r.code)}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ClientResult;
}

/** Connects from the root namespace. */
function connectFromRoot(ip: string, port: number, timeoutMs = 2_000): Promise<ClientResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', CLIENT, ip, String(port), String(timeoutMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => resolve(JSON.parse(out) as ClientResult));
  });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.on('exit', (code) => reject(new Error(`exited ${String(code)} before printing`)));
  });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function ipOut(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return r.stdout;
}

function namespaces(): string[] {
  return ipOut(['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

function links(): string[] {
  return (JSON.parse(ipOut(['-j', 'link', 'show'])) as Array<{ ifname: string }>).map((l) => l.ifname);
}

let net: HostNetwork;
let server: Server;
let serverPort = 0;
const seen: string[] = [];

beforeAll(async () => {
  await assertNetnsAvailable();
  net = await createHosts({ count: 3 });
  server = createServer((c) => {
    seen.push(c.remoteAddress ?? '');
    // Answers the first line; a client that sends bytes without a newline (bulk) is just drained.
    let buf = '';
    c.on('data', (d: Buffer) => {
      if (buf.includes('\n')) return;
      buf += d.toString();
      if (buf.includes('\n')) c.end(`root says ${buf}`);
      else if (buf.length > 1024) buf = '';
    });
    c.on('end', () => c.end());
  });
  await new Promise<void>((resolve) => server.listen(0, net.bridgeIp, resolve));
  serverPort = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.close();
  await net?.destroy();
});

describe('netns hosts (real namespaces, real sockets)', () => {
  it('creates 3 namespaces on one bridge with their own addresses', () => {
    expect(net.bridgeIp).toMatch(/^10\.77\.\d{1,3}\.1$/);
    expect(net.hosts.map((h) => h.ip)).toEqual([10, 11, 12].map((i) => net.bridgeIp.replace(/\.1$/, `.${i}`)));
    expect(namespaces()).toEqual(expect.arrayContaining(net.hosts.map((h) => h.name)));
    expect(links()).toEqual(expect.arrayContaining([net.bridge, ...net.hosts.map((h) => h.veth)]));
    for (const name of [net.bridge, ...net.hosts.map((h) => h.veth), ...net.hosts.map((h) => h.name)]) expect(name.length).toBeLessThanOrEqual(15);
    expect(existsSync(`${STATE_DIR}/${net.token}.json`)).toBe(true);
  });

  it('reaches a server in the root namespace on the bridge IP from every host, with the host IP as source', async () => {
    const results = await Promise.all(net.hosts.map((h) => connectFrom(h, net.bridgeIp, serverPort)));
    for (const r of results) expect(r).toMatchObject({ ok: true, reply: 'root says hello' });
    expect(new Set(seen)).toEqual(new Set(net.hosts.map((h) => h.ip)));
  });

  it('connects host to host, and root to host', async () => {
    const [a, b, c] = net.hosts;
    if (a === undefined || b === undefined || c === undefined) throw new Error('need 3 hosts');
    const srv = a.exec(process.execPath, ['-e', SERVER, a.name], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const { port } = JSON.parse(await firstLine(srv)) as { port: number };
      const [fromB, fromC, fromRoot] = await Promise.all([connectFrom(b, a.ip, port), connectFrom(c, a.ip, port), connectFromRoot(a.ip, port)]);
      for (const r of [fromB, fromC, fromRoot]) expect(r).toMatchObject({ ok: true, reply: `${a.name} says hello` });
      // The namespace's own loopback is separate from the root's: the server is not on root's 127.0.0.1.
      expect((await connectFrom(a, '127.0.0.1', port)).ok).toBe(true);
    } finally {
      killGroup(srv);
    }
  });

  it('cutLink makes a host unreachable both ways; restoreLink brings it back', async () => {
    const [a, b] = net.hosts;
    if (a === undefined || b === undefined) throw new Error('need 2 hosts');
    const srv = b.exec(process.execPath, ['-e', SERVER, b.name], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const { port } = JSON.parse(await firstLine(srv)) as { port: number };
      await b.cutLink();
      const [out, into, fromRoot, other] = await Promise.all([
        connectFrom(b, net.bridgeIp, serverPort, 500),
        connectFrom(a, b.ip, port, 500),
        connectFromRoot(b.ip, port, 500),
        connectFrom(a, net.bridgeIp, serverPort, 2_000),
      ]);
      expect(out.ok).toBe(false);
      expect(into.ok).toBe(false);
      expect(fromRoot.ok).toBe(false);
      expect(other).toMatchObject({ ok: true }); // only the cut host is affected
      await b.restoreLink();
      const back = await waitFor('b to come back', async () => {
        const r = await connectFrom(b, net.bridgeIp, serverPort, 500);
        return r.ok ? r : undefined;
      });
      expect(back.reply).toBe('root says hello');
      expect(await connectFrom(a, b.ip, port)).toMatchObject({ ok: true, reply: `${b.name} says hello` });
    } finally {
      await b.restoreLink();
      killGroup(srv);
    }
  });

  it('limitBandwidth shapes the link with tbf, clearBandwidth removes it', async () => {
    const c = net.hosts[2];
    if (c === undefined) throw new Error('need 3 hosts');
    const bytes = 800_000;
    await c.limitBandwidth(16);
    expect(spawnSync('tc', ['qdisc', 'show', 'dev', c.veth], { encoding: 'utf8' }).stdout).toMatch(/tbf .*rate 16Mbit/);
    // 6.4 Mbit at 16 Mbit/s is 0.4 s (unshaped it takes milliseconds); assert only a loose lower
    // bound, which slowness never breaks.
    const limited = await connectFrom(c, net.bridgeIp, serverPort, 10_000, bytes);
    expect(limited.ok).toBe(true);
    expect(limited.ms).toBeGreaterThan(200);
    await c.clearBandwidth();
    expect(spawnSync('tc', ['qdisc', 'show', 'dev', c.veth], { encoding: 'utf8' }).stdout).not.toMatch(/tbf/);
  });

  it('killAll leaves no process in the namespace, including detached grandchildren', async () => {
    const a = net.hosts[0];
    if (a === undefined) throw new Error('need a host');
    const children = [
      a.exec('sleep', ['1000'], { stdio: 'ignore' }),
      a.exec('sh', ['-c', 'setsid sleep 1000 & sleep 1000'], { stdio: 'ignore' }),
    ];
    const running = await waitFor('4 processes in the namespace', async () => {
      const pids = await a.pids();
      return pids.length >= 4 ? pids : undefined;
    });
    expect(running.length).toBeGreaterThanOrEqual(4);
    await a.killAll();
    expect(await a.pids()).toEqual([]);
    await Promise.all(children.map((ch) => new Promise((r) => (ch.exitCode !== null || ch.signalCode !== null ? r(null) : ch.once('exit', r)))));
  });

  it('refuses a subnet already in use and leaves nothing behind', async () => {
    const before = { ns: namespaces(), links: links() };
    await expect(createHosts({ count: 1, subnet: net.subnet })).rejects.toThrow(/overlaps address/);
    expect(namespaces()).toEqual(before.ns);
    expect(links()).toEqual(before.links);
  });

  it('a SIGTERMed owner tears its hosts down; a SIGKILLed one is removed by cleanupStale', async () => {
    const hostsTs = fileURLToPath(new URL('./hosts.ts', import.meta.url));
    const script = `const { createHosts } = await import(${JSON.stringify(hostsTs)});
const n = await createHosts({ count: 2 });
n.hosts[0].exec('sleep', ['1000'], { stdio: 'ignore' });
console.log(JSON.stringify({ token: n.token, bridge: n.bridge, names: n.hosts.map((h) => h.name), veths: n.hosts.map((h) => h.veth) }));
setInterval(() => {}, 1000);`;
    const start = async (): Promise<{ child: ChildProcess; run: { token: string; bridge: string; names: string[]; veths: string[] } }> => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const run = JSON.parse(await firstLine(child)) as { token: string; bridge: string; names: string[]; veths: string[] };
      expect(namespaces()).toEqual(expect.arrayContaining(run.names));
      return { child, run };
    };
    const gone = (run: { token: string; bridge: string; names: string[]; veths: string[] }): void => {
      expect(namespaces().filter((n) => run.names.includes(n))).toEqual([]);
      expect(links().filter((l) => l === run.bridge || run.veths.includes(l))).toEqual([]);
      expect(existsSync(`${STATE_DIR}/${run.token}.json`)).toBe(false);
    };
    const exited = (child: ChildProcess): Promise<unknown> => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));

    const [term, crashed] = await Promise.all([start(), start()]);
    term.child.kill('SIGTERM');
    crashed.child.kill('SIGKILL');
    await Promise.all([exited(term.child), exited(crashed.child)]);
    gone(term.run);
    expect(namespaces()).toEqual(expect.arrayContaining(crashed.run.names)); // left behind
    const report = await cleanupStale();
    expect(report.runs).toContain(crashed.run.token);
    gone(crashed.run);
    // Our own (live) network is untouched.
    expect(namespaces()).toEqual(expect.arrayContaining(net.hosts.map((h) => h.name)));
    expect(report.runs).not.toContain(net.token);
  });

  it('destroy removes every namespace, veth, the bridge and the marker, and is idempotent', async () => {
    const a = net.hosts[0];
    if (a === undefined) throw new Error('need a host');
    a.exec('sleep', ['1000'], { stdio: 'ignore' });
    await net.destroy();
    await net.destroy();
    const names = net.hosts.map((h) => h.name);
    expect(namespaces().filter((n) => names.includes(n))).toEqual([]);
    expect(links().filter((l) => l === net.bridge || net.hosts.some((h) => h.veth === l))).toEqual([]);
    expect(existsSync(`${STATE_DIR}/${net.token}.json`)).toBe(false);
    expect(ipOut(['-4', 'addr', 'show']).includes(net.bridgeIp)).toBe(false);
  });
});
