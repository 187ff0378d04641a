// Multi-host harness for end-to-end tests: each "host" is a Linux network namespace with its own
// IPv4 address on a private bridge in the root namespace. Needs root and iproute2 (`ip netns`).
//
//   root ns:  bridge <prefix><token>br  10.77.C.1/24   (the control plane binds here, or 0.0.0.0)
//               ├── veth <prefix><token>v0 ──── ns <prefix><token>h0: eth0 10.77.C.10/24, lo
//               ├── veth <prefix><token>v1 ──── ns <prefix><token>h1: eth0 10.77.C.11/24, lo
//               └── ...
//
// Every host sits on the same L2 segment as the bridge address, so no forwarding is needed: root ↔
// host and host ↔ host traffic never leaves the bridge. The hosts' default route points at the
// bridge address; as long as net.ipv4.ip_forward stays 0 (we never change it) nothing they send to
// other addresses leaves the machine.
//
// Ownership: each run writes /run/idlegrid-netns/<token>.json (owner pid + start time, names,
// subnet) before it creates anything, and holds /run/idlegrid-netns/subnet-A.B.C.lock for its /24.
// `cleanupStale` removes what runs whose owner is gone left behind; `createHosts` calls it first.

import { execFile, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STATE_DIR = '/run/idlegrid-netns';
const DEFAULT_PREFIX = 'ig';
/** Default pool of /24s: 10.77.C.0/24 for C in 0..255, picked at random per run. */
const DEFAULT_POOL = '10.77';
/** Name of the namespace side of each veth pair, as the process inside sees it. */
export const HOST_IFACE = 'eth0';
const TOKEN_LEN = 5;
const FIRST_HOST_OCTET = 10;

export interface CreateHostsOptions {
  /** Number of namespaces ("hosts") to create, 1..240. */
  count: number;
  /** Name prefix for namespaces, bridge and veths: 1–4 chars of [a-z], default `ig`. */
  prefix?: string;
  /**
   * A fixed /24 such as `10.99.3.0/24` (its .1 goes to the bridge, hosts get .10, .11, ...).
   * Default: a free 10.77.C.0/24 picked at random and locked for this run.
   */
  subnet?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the process group with SIGKILL after this long (the result then has signal SIGKILL). Default 30 s. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  input?: string;
}

export interface Host {
  /** Namespace name, e.g. `igk3x9ah0`. */
  name: string;
  /** 0-based index in `HostNetwork.hosts`. */
  index: number;
  /** The host's IPv4 address (on `eth0` inside the namespace). */
  ip: string;
  /** Root-namespace end of the veth pair (enslaved to the bridge). */
  veth: string;
  /**
   * Spawns `cmd args` inside the namespace (`ip netns exec`), detached into its own process group
   * so `process.kill(-child.pid, sig)` (or `killGroup`) reaches everything it forked.
   */
  exec(cmd: string, args?: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Runs `cmd args` inside the namespace to completion. Never rejects on a non-zero exit. */
  run(cmd: string, args?: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Pids of every process whose network namespace is this host's (`ip netns pids`). */
  pids(): Promise<number[]>;
  /**
   * Sends `signal` (default SIGKILL) to every process in the namespace. With SIGKILL it repeats
   * until the namespace is empty (rejects after `timeoutMs`, default 5 s); with another signal it
   * sends once and resolves with the pids signalled.
   */
  killAll(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number[]>;
  /** Sets the root-side veth down: the host can reach nothing and nothing can reach it. */
  cutLink(): Promise<void>;
  /** Sets the root-side veth up again. */
  restoreLink(): Promise<void>;
  /** Token-bucket limit on both directions of the host's link (tbf on both veth ends). */
  limitBandwidth(rateMbit: number): Promise<void>;
  /** Removes the bandwidth limit. */
  clearBandwidth(): Promise<void>;
}

export interface HostNetwork {
  /** Random per-run token used in every name. */
  token: string;
  /** The bridge in the root namespace. */
  bridge: string;
  /** The /24, e.g. `10.77.42.0/24`. */
  subnet: string;
  /** Address of the bridge in the root namespace: what the hosts use to reach the control plane. */
  bridgeIp: string;
  hosts: Host[];
  /** Kills every process in the namespaces, deletes namespaces, veths, bridge, firewall rules and the marker. Idempotent. */
  destroy(): Promise<void>;
}

/** What a run records on disk so that a later run can clean up after it. */
interface Marker {
  token: string;
  prefix: string;
  pid: number;
  /** /proc/<pid>/stat starttime, so a recycled pid is not mistaken for the owner. */
  startTime: string | null;
  createdAt: string;
  subnet: string | null;
  bridge: string;
  namespaces: string[];
  veths: string[];
  /** iptables rule specs (without -I/-D) inserted for this run. */
  iptables: string[][];
}

// ---------------------------------------------------------------------------------------------
// Command execution. Teardown is written once as a generator of steps and driven either
// asynchronously (destroy, cleanupStale) or synchronously (process 'exit' / signal handlers).

interface CmdResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Step = { cmd: string; args: string[] } | { sleepMs: number };
type Teardown = Generator<Step, void, CmdResult>;

function runCmd(cmd: string, args: readonly string[], input?: string): Promise<CmdResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr: err !== null && stderr === '' ? err.message : stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function must(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await runCmd(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}${input === undefined ? '' : `\ninput:\n${input}`}`);
  return r.stdout;
}

async function driveAsync(gen: Teardown): Promise<void> {
  let next = gen.next();
  while (next.done !== true) {
    const step = next.value;
    if ('sleepMs' in step) {
      await new Promise((r) => setTimeout(r, step.sleepMs));
      next = gen.next({ code: 0, stdout: '', stderr: '' });
    } else {
      next = gen.next(await runCmd(step.cmd, step.args));
    }
  }
}

function driveSync(gen: Teardown): void {
  let next = gen.next();
  while (next.done !== true) {
    const step = next.value;
    if ('sleepMs' in step) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, step.sleepMs);
      next = gen.next({ code: 0, stdout: '', stderr: '' });
    } else {
      const r = spawnSync(step.cmd, step.args, { encoding: 'utf8' });
      next = gen.next({ code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' });
    }
  }
}

function parsePids(stdout: string): number[] {
  return stdout
    .split('\n')
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isInteger(n) && n > 0 && n !== process.pid);
}

function signalPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGKILLs everything in `ns` until `ip netns pids` comes back empty (bounded). */
function* killNamespace(ns: string): Teardown {
  for (let i = 0; i < 100; i++) {
    const r = yield { cmd: 'ip', args: ['netns', 'pids', ns] };
    const pids = r.code === 0 ? parsePids(r.stdout) : [];
    if (pids.length === 0) return;
    signalPids(pids, 'SIGKILL');
    yield { sleepMs: 20 };
  }
}

function* teardown(m: Marker): Teardown {
  for (const ns of m.namespaces) yield* killNamespace(ns);
  for (const rule of m.iptables) yield { cmd: 'iptables', args: ['-w', '-D', ...rule] };
  // Deleting the root end deletes the pair; deleting the namespace then frees it at once.
  for (const v of m.veths) yield { cmd: 'ip', args: ['link', 'del', v] };
  for (const ns of m.namespaces) yield { cmd: 'ip', args: ['netns', 'del', ns] };
  yield { cmd: 'ip', args: ['link', 'del', m.bridge] };
  removeMarker(m);
}

// ---------------------------------------------------------------------------------------------
// Markers and ownership.

function markerPath(token: string): string {
  return join(STATE_DIR, `${token}.json`);
}

function subnetLockPath(subnet: string): string {
  return join(STATE_DIR, `subnet-${subnetBase(subnet)}.lock`);
}

function removeMarker(m: Marker): void {
  if (m.subnet !== null) {
    try {
      if (readFileSync(subnetLockPath(m.subnet), 'utf8').trim() === m.token) rmSync(subnetLockPath(m.subnet), { force: true });
    } catch {
      // no lock
    }
  }
  rmSync(markerPath(m.token), { force: true });
}

function writeMarker(m: Marker, exclusive: boolean): void {
  if (exclusive) {
    writeFileSync(markerPath(m.token), JSON.stringify(m, null, 2), { flag: 'wx' });
    return;
  }
  const tmp = `${markerPath(m.token)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(m, null, 2));
  renameSync(tmp, markerPath(m.token));
}

function readMarker(file: string): Marker | null {
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Partial<Marker>;
    if (typeof m.token !== 'string' || typeof m.pid !== 'number' || typeof m.bridge !== 'string') return null;
    return {
      token: m.token,
      prefix: m.prefix ?? DEFAULT_PREFIX,
      pid: m.pid,
      startTime: m.startTime ?? null,
      createdAt: m.createdAt ?? '',
      subnet: m.subnet ?? null,
      bridge: m.bridge,
      namespaces: m.namespaces ?? [],
      veths: m.veths ?? [],
      iptables: m.iptables ?? [],
    };
  } catch {
    return null;
  }
}

function procStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; starttime is field 22 overall.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

function ownerAlive(m: Marker): boolean {
  const start = procStartTime(m.pid);
  if (start === null) return false;
  return m.startTime === null || m.startTime === start;
}

// ---------------------------------------------------------------------------------------------
// Naming and addressing.

function checkPrefix(prefix: string): void {
  if (!/^[a-z]{1,4}$/.test(prefix)) throw new Error(`netns prefix must be 1-4 lowercase letters, got ${JSON.stringify(prefix)}`);
}

function namePattern(prefix: string): RegExp {
  return new RegExp(`^${prefix}([a-z0-9]{${TOKEN_LEN}})(?:br|h\\d+|v\\d+)$`);
}

function newToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(TOKEN_LEN), (b) => alphabet[b % alphabet.length]).join('');
}

function ipToInt(ip: string): number {
  const parts = ip.split('.').map((p) => Number.parseInt(p, 10));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 address ${ip}`);
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

function overlaps(aIp: string, aLen: number, bIp: string, bLen: number): boolean {
  const len = Math.min(aLen, bLen);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((ipToInt(aIp) & mask) >>> 0) === ((ipToInt(bIp) & mask) >>> 0);
}

/** `10.77.42.0/24` → `10.77.42`. */
function subnetBase(subnet: string): string {
  const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.0\/24$/.exec(subnet);
  if (m?.[1] === undefined) throw new Error(`subnet must be a /24 like 10.77.42.0/24, got ${subnet}`);
  ipToInt(`${m[1]}.0`);
  return m[1];
}

interface IpAddrJson {
  ifname?: string;
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
}
interface IpRouteJson {
  dst?: string;
}

/** IPv4 prefixes already present in the root namespace (addresses and routes in every table). */
async function usedPrefixes(): Promise<Array<{ ip: string; len: number; where: string }>> {
  const used: Array<{ ip: string; len: number; where: string }> = [];
  const addrs = JSON.parse(await must('ip', ['-j', '-4', 'addr', 'show'])) as IpAddrJson[];
  for (const link of addrs) {
    for (const a of link.addr_info ?? []) {
      if (a.family === 'inet' && a.local !== undefined && a.prefixlen !== undefined) used.push({ ip: a.local, len: a.prefixlen, where: `address ${a.local}/${a.prefixlen} on ${link.ifname ?? '?'}` });
    }
  }
  const routes = JSON.parse(await must('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])) as IpRouteJson[];
  for (const r of routes) {
    if (r.dst === undefined || r.dst === 'default') continue;
    const [ip, len] = r.dst.split('/');
    if (ip === undefined || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) continue;
    used.push({ ip, len: len === undefined ? 32 : Number.parseInt(len, 10), where: `route ${r.dst}` });
  }
  return used;
}

/** Locks `subnet` for `token` (exclusive create), after checking nothing in the root ns uses it. */
async function claimSubnet(subnet: string, token: string): Promise<string | null> {
  const base = subnetBase(subnet);
  const clash = (await usedPrefixes()).find((u) => overlaps(u.ip, u.len, `${base}.0`, 24));
  if (clash !== undefined) return `${subnet} overlaps ${clash.where}`;
  try {
    writeFileSync(subnetLockPath(subnet), `${token}\n`, { flag: 'wx' });
    return null;
  } catch {
    return `${subnet} is locked by another run (${subnetLockPath(subnet)})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Firewall: only touched when an iptables binary exists and the bridge hands frames to it.

function readSysctl(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

async function hasIptables(): Promise<boolean> {
  const r = await runCmd('iptables', ['-w', '-S', 'INPUT']);
  return r.code === 0;
}

/**
 * Inserts ACCEPT rules for our bridge at the top of INPUT/OUTPUT (root ns ↔ hosts) and, when
 * br_netfilter passes bridged frames to iptables, FORWARD (host ↔ host). Rules are recorded in the
 * marker and removed on destroy. The global bridge-nf sysctls are left alone (other runs share them).
 */
async function openFirewall(bridge: string): Promise<string[][]> {
  if (!(await hasIptables())) return [];
  const rules: string[][] = [
    ['INPUT', '-i', bridge, '-j', 'ACCEPT'],
    ['OUTPUT', '-o', bridge, '-j', 'ACCEPT'],
  ];
  if (readSysctl('/proc/sys/net/bridge/bridge-nf-call-iptables') === '1') rules.push(['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT']);
  const inserted: string[][] = [];
  for (const rule of rules) {
    const [chain, ...spec] = rule;
    if (chain === undefined) continue;
    await must('iptables', ['-w', '-I', chain, '1', ...spec]);
    inserted.push(rule);
  }
  return inserted;
}

// ---------------------------------------------------------------------------------------------
// Exit hooks: whatever is still alive when the process ends is torn down synchronously.

const live = new Map<string, Marker>();
let hooksInstalled = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function destroyAllSync(): void {
  for (const m of [...live.values()]) {
    live.delete(m.token);
    try {
      driveSync(teardown(m));
    } catch {
      // best effort while exiting
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  destroyAllSync();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  // We replaced the default action; restore it when nobody else handles the signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', destroyAllSync);
  for (const s of SIGNALS) process.on(s, onSignal);
}

// ---------------------------------------------------------------------------------------------
// Public API.

/** Throws a clear error when this process cannot create network namespaces. */
export async function assertNetnsAvailable(): Promise<void> {
  const uid = process.getuid?.();
  if (uid !== 0) throw new Error(`netns harness needs root (uid 0), running as uid ${String(uid)}; run the e2e tests as root`);
  const r = await runCmd('ip', ['netns', 'list']);
  if (r.code !== 0) throw new Error(`\`ip netns list\` failed (${String(r.code)}): ${r.stderr.trim()}; install iproute2 and run as root`);
}

export interface StaleReport {
  /** Tokens of dead runs whose markers were found and torn down. */
  runs: string[];
  /** Namespaces and links matching the prefix with no live owner, deleted. */
  orphans: string[];
}

/**
 * Removes namespaces, links, firewall rules and lock files left by earlier runs with `prefix`
 * whose owner process is gone. Never touches a run whose owner is still alive.
 */
export async function cleanupStale(prefix = DEFAULT_PREFIX): Promise<StaleReport> {
  checkPrefix(prefix);
  const report: StaleReport = { runs: [], orphans: [] };
  mkdirSync(STATE_DIR, { recursive: true });
  const liveTokens = new Set<string>();
  const files = readdirSync(STATE_DIR);
  for (const f of files) {
    if (!f.endsWith('.json')) continue;
    const m = readMarker(join(STATE_DIR, f));
    if (m === null) continue;
    if (m.prefix !== prefix) {
      liveTokens.add(m.token); // another prefix's business: never touch its names
      continue;
    }
    if (ownerAlive(m)) {
      liveTokens.add(m.token);
      continue;
    }
    await driveAsync(teardown(m));
    report.runs.push(m.token);
  }
  // Subnet locks and leftover temp files whose run no longer has a marker.
  for (const f of files) {
    const path = join(STATE_DIR, f);
    if (f.startsWith('subnet-') && f.endsWith('.lock')) {
      let owner = '';
      try {
        owner = readFileSync(path, 'utf8').trim();
      } catch {
        continue;
      }
      if (!liveTokens.has(owner) && readMarker(markerPath(owner)) === null) rmSync(path, { force: true });
    } else if (f.endsWith('.tmp')) {
      const pid = Number.parseInt(f.split('.').at(-2) ?? '', 10);
      if (!Number.isInteger(pid) || procStartTime(pid) === null) rmSync(path, { force: true });
    }
  }
  // Names with our pattern but no live marker (e.g. marker dir wiped): delete them too.
  const pattern = namePattern(prefix);
  const orphaned = (name: string): boolean => {
    const token = pattern.exec(name)?.[1];
    return token !== undefined && !liveTokens.has(token) && readMarker(markerPath(token)) === null;
  };
  const nsList = (await runCmd('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(orphaned);
  for (const ns of nsList) {
    await driveAsync(killNamespace(ns));
    await runCmd('ip', ['netns', 'del', ns]);
    report.orphans.push(ns);
  }
  const links = JSON.parse((await runCmd('ip', ['-j', 'link', 'show'])).stdout || '[]') as Array<{ ifname?: string }>;
  for (const l of links) {
    if (l.ifname === undefined || !orphaned(l.ifname)) continue;
    await runCmd('ip', ['link', 'del', l.ifname]);
    report.orphans.push(l.ifname);
  }
  return report;
}

/** Kills a child started with `Host.exec` together with everything in its process group. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // group already gone
  }
}

export async function createHosts(opts: CreateHostsOptions): Promise<HostNetwork> {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  checkPrefix(prefix);
  const { count } = opts;
  if (!Number.isInteger(count) || count < 1 || count > 240) throw new Error(`count must be an integer in 1..240, got ${count}`);
  await assertNetnsAvailable();
  await cleanupStale(prefix);

  // Claim a token (exclusive marker) before creating anything, so cleanupStale in other processes
  // always sees an owner for our names.
  let marker: Marker | undefined;
  for (let attempt = 0; marker === undefined; attempt++) {
    const token = newToken();
    const candidate: Marker = {
      token,
      prefix,
      pid: process.pid,
      startTime: procStartTime(process.pid),
      createdAt: new Date().toISOString(),
      subnet: null,
      bridge: `${prefix}${token}br`,
      namespaces: Array.from({ length: count }, (_, i) => `${prefix}${token}h${i}`),
      veths: Array.from({ length: count }, (_, i) => `${prefix}${token}v${i}`),
      iptables: [],
    };
    try {
      writeMarker(candidate, true);
      marker = candidate;
    } catch (e) {
      if (attempt > 10) throw e;
    }
  }
  const m = marker;
  live.set(m.token, m);
  installHooks();

  const net: { destroyed: boolean } = { destroyed: false };
  const destroy = async (): Promise<void> => {
    if (net.destroyed) return;
    net.destroyed = true;
    live.delete(m.token);
    await driveAsync(teardown(m));
  };

  try {
    // Subnet.
    const problems: string[] = [];
    if (opts.subnet !== undefined) {
      const problem = await claimSubnet(opts.subnet, m.token);
      if (problem !== null) throw new Error(`cannot use subnet: ${problem}`);
      m.subnet = opts.subnet;
    } else {
      const start = randomInt(256);
      for (let i = 0; i < 256 && m.subnet === null; i++) {
        const subnet = `${DEFAULT_POOL}.${(start + i) % 256}.0/24`;
        const problem = await claimSubnet(subnet, m.token);
        if (problem === null) m.subnet = subnet;
        else if (problems.length < 5) problems.push(problem);
      }
      if (m.subnet === null) throw new Error(`no free /24 in ${DEFAULT_POOL}.0.0/16: ${problems.join('; ')}`);
    }
    writeMarker(m, false);
    const base = subnetBase(m.subnet);
    const bridgeIp = `${base}.1`;
    const hostIp = (i: number): string => `${base}.${FIRST_HOST_OCTET + i}`;

    await Promise.all(m.namespaces.map((ns) => must('ip', ['netns', 'add', ns])));
    const rootBatch = [
      `link add ${m.bridge} type bridge forward_delay 0 stp_state 0`,
      `addr add ${bridgeIp}/24 dev ${m.bridge}`,
      `link set ${m.bridge} up`,
      ...m.veths.flatMap((v, i) => [`link add ${v} type veth peer name ${HOST_IFACE} netns ${m.namespaces[i] ?? ''}`, `link set ${v} master ${m.bridge} up`]),
    ];
    await must('ip', ['-batch', '-'], rootBatch.join('\n') + '\n');
    await Promise.all(
      m.namespaces.map((ns, i) =>
        must(
          'ip',
          ['-n', ns, '-batch', '-'],
          [`link set lo up`, `addr add ${hostIp(i)}/24 dev ${HOST_IFACE}`, `link set ${HOST_IFACE} up`, `route add default via ${bridgeIp} dev ${HOST_IFACE}`].join('\n') + '\n',
        ),
      ),
    );
    m.iptables = await openFirewall(m.bridge);
    writeMarker(m, false);

    const hosts = m.namespaces.map((ns, i) => makeHost(ns, i, hostIp(i), m.veths[i] ?? ''));
    return { token: m.token, bridge: m.bridge, subnet: m.subnet, bridgeIp, hosts, destroy };
  } catch (e) {
    await destroy();
    throw e;
  }
}

function nsArgs(ns: string, cmd: string, args: readonly string[]): string[] {
  return ['netns', 'exec', ns, cmd, ...args];
}

function tbfArgs(dev: string, rateMbit: number): string[] {
  // Burst: at least 10 ms at full rate and never below 32 KiB (tbf needs burst >= rate / HZ).
  const burstBytes = Math.max(32 * 1024, Math.ceil((rateMbit * 1e6) / 8 / 100));
  return ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burstBytes), 'latency', '100ms'];
}

function makeHost(name: string, index: number, ip: string, veth: string): Host {
  const pids = async (): Promise<number[]> => parsePids(await must('ip', ['netns', 'pids', name]));
  return {
    name,
    index,
    ip,
    veth,
    exec(cmd, args = [], opts = {}) {
      return spawn('ip', nsArgs(name, cmd, args), { ...opts, detached: true });
    },
    run(cmd, args = [], opts = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn('ip', nsArgs(name, cmd, args), {
          detached: true,
          env: opts.env ?? process.env,
          cwd: opts.cwd,
          stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        if (opts.input !== undefined) child.stdin?.end(opts.input);
        const timer = setTimeout(() => killGroup(child), opts.timeoutMs ?? 30_000);
        child.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal, stdout, stderr });
        });
      });
    },
    pids,
    async killAll(signal = 'SIGKILL', timeoutMs = 5_000) {
      const first = await pids();
      signalPids(first, signal);
      if (signal !== 'SIGKILL') return first;
      const deadline = Date.now() + timeoutMs;
      for (let left = await pids(); left.length > 0; left = await pids()) {
        if (Date.now() > deadline) throw new Error(`processes still in ${name} after SIGKILL: ${left.join(', ')}`);
        signalPids(left, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 20));
      }
      return first;
    },
    async cutLink() {
      await must('ip', ['link', 'set', veth, 'down']);
    },
    async restoreLink() {
      await must('ip', ['link', 'set', veth, 'up']);
    },
    async limitBandwidth(rateMbit) {
      if (!(rateMbit > 0)) throw new Error(`rateMbit must be > 0, got ${rateMbit}`);
      await must('tc', tbfArgs(veth, rateMbit));
      await must('ip', nsArgs(name, 'tc', tbfArgs(HOST_IFACE, rateMbit)));
    },
    async clearBandwidth() {
      await runCmd('tc', ['qdisc', 'del', 'dev', veth, 'root']);
      await runCmd('ip', nsArgs(name, 'tc', ['qdisc', 'del', 'dev', HOST_IFACE, 'root']));
    },
  };
}
