import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exited, startCliLines } from './cli-process.ts';

/** The README's first command runs `idlegrid up --demo`: this is that main job, end to end. */
describe('idlegrid up --demo (the main job)', () => {
  it('books a 2-node cluster on the local network, runs a Ray job on both nodes and releases it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'idlegrid-demo-'));
    const env = { ...process.env, IDLEGRID_HOME: join(root, 'home'), LOG_LEVEL: 'warn' };
    const { child, lines } = await startCliLines(['up', '--workers', '2', '--port', '0', '--data-dir', join(root, 'net'), '--demo', '--json'], env, 2);
    try {
      expect(lines[0]).toMatchObject({ ready: true, workers: 2 });
      const demo = (lines[1] as { demo: { job: { status: string; distinctNodes: number }; releasedState: string; deployToReadySeconds: number } }).demo;
      expect(demo.job).toMatchObject({ status: 'SUCCEEDED', distinctNodes: 2 });
      expect(demo.releasedState).toBe('ended');
      expect(demo.deployToReadySeconds).toBeGreaterThan(0);
    } finally {
      child.kill('SIGTERM');
      expect(await exited(child, 30_000)).toBe(0);
    }
  }, 300_000);
});
