import { createHash } from 'node:crypto';
import { lstat, mkdir, readlink, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RayError } from './errors.ts';

/**
 * Ray puts unix sockets at `<temp-dir>/<session>/sockets/<name>` and refuses paths over
 * 107 bytes (AF_UNIX). The session name is `session_YYYY-MM-DD_HH-MM-SS_ffffff_<pid>`
 * (≤ 42 bytes with a 7-digit pid); the longest socket name in Ray 2.60 is
 * `dash_MetricsHead` (16 bytes; 20 allowed for margin). So the temp dir may be at most
 * 107 − 1 − 42 − "/sockets/".length − 20 = 35 bytes.
 */
export const UNIX_SOCKET_PATH_MAX = 107;
const SESSION_DIR_MAX = 42;
const SOCKETS_SUBDIR = '/sockets/';
const SOCKET_NAME_MAX = 20;
export const RAY_TEMP_DIR_MAX_BYTES = UNIX_SOCKET_PATH_MAX - 1 - SESSION_DIR_MAX - SOCKETS_SUBDIR.length - SOCKET_NAME_MAX;

export function tempDirFits(dir: string): boolean {
  return Buffer.byteLength(dir, 'utf8') <= RAY_TEMP_DIR_MAX_BYTES;
}

export function assertTempDirFits(dir: string): void {
  if (!path.isAbsolute(dir)) {
    throw new RayError('RAY_INVALID_OPTIONS', `Ray temp dir must be absolute: ${dir}`, { dir });
  }
  if (!tempDirFits(dir)) {
    throw new RayError(
      'RAY_TEMP_DIR_TOO_LONG',
      `Ray temp dir ${dir} is ${Buffer.byteLength(dir)} bytes; at most ${RAY_TEMP_DIR_MAX_BYTES} keep Ray's unix socket paths under ${UNIX_SOCKET_PATH_MAX + 1} bytes`,
      { dir, maxBytes: RAY_TEMP_DIR_MAX_BYTES },
    );
  }
}

export interface NodeTempDir {
  /** What Ray gets as --temp-dir. */
  readonly tempDir: string;
  /** When the lease-dir path was too long: the symlink in the lease dir pointing at tempDir. */
  readonly link?: string;
}

async function ensureOwnedDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw new RayError('RAY_INVALID_OPTIONS', `Ray temp dir ${dir} is not a directory owned by this user`, { dir });
  }
}

/**
 * The temp dir of node `nodeName` of a lease: `<leaseDir>/<nodeName>` when that is short
 * enough for Ray's sockets, else a short `/tmp/igr-<hash>` dir (0700, owned by us) with a
 * symlink `<leaseDir>/<nodeName>` to it so the node's files stay findable from the lease dir.
 */
export async function nodeTempDir(leaseDir: string, nodeName: string): Promise<NodeTempDir> {
  if (!/^[\w.-]{1,32}$/.test(nodeName)) {
    throw new RayError('RAY_INVALID_OPTIONS', `Node name must be 1–32 of [A-Za-z0-9_.-]: ${nodeName}`, { nodeName });
  }
  const preferred = path.join(path.resolve(leaseDir), nodeName);
  await mkdir(path.dirname(preferred), { recursive: true });
  if (tempDirFits(preferred)) {
    await ensureOwnedDir(preferred);
    return { tempDir: preferred };
  }
  const hash = createHash('sha256').update(preferred).digest('hex').slice(0, 12);
  const root = tempDirFits(path.join(os.tmpdir(), `igr-${hash}`)) ? os.tmpdir() : '/tmp';
  const short = path.join(root, `igr-${hash}`);
  assertTempDirFits(short);
  await ensureOwnedDir(short);
  const existing = await readlink(preferred).catch((e: unknown) => (e instanceof Error && 'code' in e && e.code === 'ENOENT' ? undefined : 'not-a-link'));
  if (existing === undefined) await symlink(short, preferred);
  else if (existing !== short) {
    throw new RayError('RAY_INVALID_OPTIONS', `${preferred} exists and is not a link to ${short}`, { preferred, short });
  }
  return { tempDir: short, link: preferred };
}
