import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { WorkerAbandoned, type WorkerRun } from '@idlegrid/protocol';

/** The proof-of-GPU kernel shipped with the agent (torch or cupy on CUDA, numpy on the CPU). */
export const POGPU_SCRIPT = fileURLToPath(new URL('../../python/pogpu.py', import.meta.url));

const outputSchema = z.object({
  checksums: z.array(z.string()),
  elapsedMs: z.number().nonnegative().finite(),
  /** `cuda:<device name>` or `cpu`. */
  device: z.string(),
  notes: z.array(z.string()).optional(),
});
export type KernelOutput = z.infer<typeof outputSchema>;

export interface KernelRequest {
  /** The interpreter (IDLEGRID_PYTHON). */
  python: string;
  /** 64 hex digits. */
  seed: string;
  n: number;
  /** `auto`: CUDA when torch or cupy can use it, else the CPU; `cpu`: numpy on the CPU. */
  device: 'auto' | 'cuda' | 'cpu';
  timeoutMs: number;
}

/** Runs pogpu.py once; past `timeoutMs` (or on cancel) the process is killed and `result` rejects with WorkerAbandoned. */
export function runPythonKernel(request: KernelRequest): WorkerRun<KernelOutput> {
  const child = spawn(request.python, [POGPU_SCRIPT, '--seed', request.seed, '--n', String(request.n), '--device', request.device], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let cancel: () => void = () => undefined;
  const result = new Promise<KernelOutput>((resolve, reject) => {
    let done = false;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      fn();
    };
    cancel = () => finish(() => reject(new WorkerAbandoned('cancelled')));
    const timer = setTimeout(() => finish(() => reject(new WorkerAbandoned('timeout'))), request.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (err) => finish(() => reject(new Error(`could not run ${request.python}: ${err.message}`))));
    child.once('close', (code) => {
      const errText = Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-3).join(' | ');
      if (code !== 0) {
        finish(() => reject(new Error(`${request.python} pogpu.py exited with code ${code}${errText ? `: ${errText}` : ''}`)));
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.concat(stdout).toString('utf8'));
      } catch {
        finish(() => reject(new Error('pogpu.py printed no JSON')));
        return;
      }
      const checked = outputSchema.safeParse(parsed);
      if (!checked.success) finish(() => reject(new Error('pogpu.py printed JSON of the wrong shape')));
      else finish(() => resolve(checked.data));
    });
  });
  return { result, cancel: () => cancel() };
}
