import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const NODE_ID = /[0-9a-f]{56}/;

/**
 * The Ray node id of the node whose --temp-dir is `tempDir`, from its own files: Ray 2.60
 * writes `<temp>/session_latest/<name>_port_<node id>` files and logs
 * "Setting node ID node_id=<id>" in logs/raylet.out. Undefined if neither shows up within `timeoutMs`.
 */
export async function readRayNodeId(tempDir: string, timeoutMs = 10_000): Promise<string | undefined> {
  const session = path.join(tempDir, 'session_latest');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A node restarted into the same temp dir (same session name) leaves older files: newest wins.
    let best: { id: string; mtime: number } | undefined;
    for (const n of await readdir(session).catch(() => [] as string[])) {
      const id = /_port_([0-9a-f]{56})$/.exec(n)?.[1];
      const mtime = id === undefined ? undefined : (await stat(path.join(session, n)).catch(() => undefined))?.mtimeMs;
      if (id !== undefined && mtime !== undefined && (best === undefined || mtime > best.mtime)) best = { id, mtime };
    }
    if (best) return best.id;
    const raylet = await readFile(path.join(session, 'logs', 'raylet.out'), 'utf8').catch(() => '');
    const line = /Setting node ID node_id=([0-9a-f]+)/.exec(raylet)?.[1];
    if (line !== undefined && NODE_ID.test(line)) return line;
    if (Date.now() >= deadline) return undefined;
    await sleep(200);
  }
}
