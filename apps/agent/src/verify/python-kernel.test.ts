import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { solveChallenge } from '@idlegrid/economics';
import { findNumpyPython } from './numpy-python.ts';
import { runPythonKernel } from './python-kernel.ts';
import { WorkerAbandoned } from '@idlegrid/protocol';

const python = findNumpyPython(process.env);
const why = python ? `with ${python}` : 'SKIPPED: no python with numpy (run scripts/setup-ray.sh or set IDLEGRID_PYTHON)';

describe(`pogpu.py in numpy mode (${why})`, () => {
  it.skipIf(!python).each([48, 64, 1, 33])('reproduces solveChallenge exactly for n = %i', async (n) => {
    const seed = randomBytes(32);
    const out = await runPythonKernel({ python: python ?? '', seed: seed.toString('hex'), n, device: 'cpu', timeoutMs: 60_000 }).result;
    expect(out.device).toBe('cpu');
    expect(out.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(out.checksums).toEqual(solveChallenge(Uint8Array.from(seed), n));
  });

  it.skipIf(!python)('is killed at its deadline', async () => {
    const run = runPythonKernel({ python: python ?? '', seed: randomBytes(32).toString('hex'), n: 4096, device: 'cpu', timeoutMs: 50 });
    await expect(run.result).rejects.toBeInstanceOf(WorkerAbandoned);
  });

  it('reports an interpreter that does not exist', async () => {
    const run = runPythonKernel({ python: '/nonexistent/python9', seed: randomBytes(32).toString('hex'), n: 8, device: 'cpu', timeoutMs: 10_000 });
    await expect(run.result).rejects.toThrow(/could not run/);
  });
});
