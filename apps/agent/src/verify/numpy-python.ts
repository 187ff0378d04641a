import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { rayVenvDir } from '@idlegrid/ray';

/**
 * A Python interpreter with numpy for tests of the kernel: IDLEGRID_PYTHON, the Ray venv's
 * (scripts/setup-ray.sh installs numpy with Ray), then `python3`. Null when none has numpy.
 */
export function findNumpyPython(env: NodeJS.ProcessEnv): string | null {
  const candidates = [env['IDLEGRID_PYTHON'], join(rayVenvDir(env), 'bin', 'python'), 'python3'].filter((c): c is string => !!c);
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore', timeout: 20_000 });
    if (probe.status === 0) return python;
  }
  return null;
}
