import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Why a worker run ended without an answer. */
export class WorkerAbandoned extends Error {
  constructor(readonly why: 'timeout' | 'cancelled') {
    super(why === 'timeout' ? 'the work was abandoned at its deadline' : 'the work was cancelled');
  }
}

export interface WorkerRun<T> {
  readonly result: Promise<T>;
  /** Terminates the worker; `result` rejects with WorkerAbandoned('cancelled'). */
  cancel(): void;
}

/**
 * Runs the TypeScript module `entry` in a worker thread, which answers with one
 * `postMessage`. The worker registers tsx itself (workers do not inherit the parent's
 * loader), so this works under tsx, `node --import tsx` and vitest alike. Past `timeoutMs`
 * the worker is terminated and `result` rejects with WorkerAbandoned('timeout').
 */
export function runTsWorker<T>(entry: URL, workerData: unknown, timeoutMs: number): WorkerRun<T> {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json').replace(/package\.json$/, 'dist/esm/api/index.mjs')).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  const worker = new Worker(code, { eval: true, workerData });
  let cancel: () => void = () => undefined;
  const result = new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    cancel = () => finish(() => reject(new WorkerAbandoned('cancelled')));
    const timer = setTimeout(() => finish(() => reject(new WorkerAbandoned('timeout'))), timeoutMs);
    worker.once('message', (message: T) => finish(() => resolve(message)));
    worker.once('error', (err) => finish(() => reject(err)));
    worker.once('exit', (code) => finish(() => reject(new Error(`the worker exited (code ${code}) without an answer`))));
  });
  return {
    result,
    cancel: () => cancel(),
  };
}
