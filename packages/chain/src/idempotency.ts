import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { IdempotencyEntry, IdempotencyStore } from './ledger.ts';

/** In-memory store: for tests and for callers that keep their own durable copy. Not crash-safe. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly entries = new Map<string, IdempotencyEntry>();
  get(key: string): Promise<IdempotencyEntry | undefined> {
    return Promise.resolve(this.entries.get(key));
  }
  put(key: string, entry: IdempotencyEntry): Promise<void> {
    this.entries.set(key, entry);
    return Promise.resolve();
  }
}

/**
 * A JSON file rewritten atomically (tmp + fsync + rename) on every put: durable, simple, O(n) per
 * write. Fine for a local network; the control plane passes its database-backed store instead.
 */
export class FileIdempotencyStore implements IdempotencyStore {
  private readonly entries: Map<string, IdempotencyEntry>;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {
    const saved = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, IdempotencyEntry>) : {};
    this.entries = new Map<string, IdempotencyEntry>(Object.entries(saved));
  }

  get(key: string): Promise<IdempotencyEntry | undefined> {
    return Promise.resolve(this.entries.get(key));
  }

  put(key: string, entry: IdempotencyEntry): Promise<void> {
    this.entries.set(key, entry);
    const text = JSON.stringify(Object.fromEntries(this.entries));
    const run = this.writing.then(() => writeAtomic(this.path, text));
    this.writing = run.catch(() => undefined);
    return run;
  }
}

export async function writeAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
