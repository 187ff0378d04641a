import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { RayError } from './errors.ts';

/** One row of the Linux process table (/proc/<pid>/stat). */
export interface ProcEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  readonly sid: number;
  /** Start time in clock ticks since boot: with pid, identifies a process across pid reuse. */
  readonly startTicks: number;
  readonly state: string;
}

export function parseProcStat(text: string): ProcEntry | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).split(' ');
  const [state, ppid, pgid, sid] = [rest[0], Number(rest[1]), Number(rest[2]), Number(rest[3])];
  const startTicks = Number(rest[19]);
  if (state === undefined || ![pid, ppid, pgid, sid, startTicks].every(Number.isInteger)) return undefined;
  return { pid, ppid, pgid, sid, startTicks, state };
}

export async function readProcTable(): Promise<ProcEntry[]> {
  const names = await readdir('/proc');
  const rows = await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n))
      .map((n) => readFile(`/proc/${n}/stat`, 'utf8').then(parseProcStat, () => undefined)),
  );
  return rows.filter((r): r is ProcEntry => r !== undefined);
}

const isLive = (p: ProcEntry): boolean => p.state !== 'Z' && p.state !== 'X';

function trySignal(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // ESRCH: already gone. EPERM: not ours; the final check reports it.
  }
}

/**
 * The processes one Ray node owns: spawned detached, its leader heads a new session and
 * process group. Ray 2.60 moves each worker process into its own process group
 * (`process_group_cleanup_enabled`), so the group alone misses them: a member is anything
 * in the leader's session or group, or a descendant of a member seen earlier (orphans are
 * re-parented when the leader dies, so they are remembered by pid + start time).
 */
export class ProcessFamily {
  private readonly known = new Map<number, number>();

  constructor(readonly leader: number) {}

  /** Members now; zombies (exited, not yet reaped by their parent) only with includeZombies. Linux only: needs /proc. */
  async members(includeZombies = false): Promise<ProcEntry[]> {
    const table = await readProcTable();
    const children = new Map<number, ProcEntry[]>();
    for (const p of table) {
      const list = children.get(p.ppid) ?? [];
      list.push(p);
      children.set(p.ppid, list);
    }
    const found = new Map<number, ProcEntry>();
    const queue: ProcEntry[] = [];
    for (const p of table) {
      const remembered = this.known.get(p.pid) === p.startTicks;
      if (p.sid === this.leader || p.pgid === this.leader || remembered || p.pid === this.leader) queue.push(p);
    }
    while (queue.length > 0) {
      const p = queue.pop();
      if (p === undefined || found.has(p.pid)) continue;
      found.set(p.pid, p);
      queue.push(...(children.get(p.pid) ?? []));
    }
    for (const p of found.values()) this.known.set(p.pid, p.startTicks);
    return includeZombies ? [...found.values()] : [...found.values()].filter(isLive);
  }

  /** Sends `signal` to the leader's process group and to every live member. */
  async signal(signal: NodeJS.Signals): Promise<ProcEntry[]> {
    trySignal(-this.leader, signal);
    const live = await this.members();
    for (const p of live) trySignal(p.pid, signal);
    return live;
  }

  /** Polls until no member is left or `ms` passed; returns the members still there. */
  async waitGone(ms: number, includeZombies = false, pollMs = 100): Promise<ProcEntry[]> {
    const deadline = Date.now() + ms;
    let left = await this.members(includeZombies);
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(pollMs);
      left = await this.members(includeZombies);
    }
    return left;
  }

  /**
   * SIGTERM everything, wait up to `graceMs`, SIGKILL what is left, wait up to
   * `killWaitMs`; throws RAY_STOP_FAILED naming any process that still survives.
   */
  async terminate(graceMs: number, killWaitMs = 5_000): Promise<void> {
    await this.signal('SIGTERM');
    let live = await this.waitGone(graceMs);
    if (live.length > 0) {
      await this.signal('SIGKILL');
      live = await this.waitGone(killWaitMs);
    }
    if (live.length > 0) {
      const pids = live.map((p) => p.pid);
      throw new RayError('RAY_STOP_FAILED', `Ray node ${this.leader}: processes ${pids.join(', ')} survived SIGKILL`, { leader: this.leader, pids });
    }
    // Dead now; give their parents (init, or the leader for its children) a moment to reap
    // them so that `ps` shows nothing either. Reaping is not ours to force: no error here.
    await this.waitGone(2_000, true);
  }
}
