import { performance } from 'node:perf_hooks';
import type { GpuModel } from '@idlegrid/domain';
import type { HandledServerMessage, ServerMessageHandler, SessionContext } from '../handlers.ts';
import { runPythonKernel, type KernelOutput } from './python-kernel.ts';
import { runTsWorker, WorkerAbandoned, type WorkerRun } from '@idlegrid/protocol';

const SOLVE_WORKER = new URL('./solve-worker.ts', import.meta.url);

export interface ChallengeSolverOptions {
  /** The model the device offers: `cpu` solves in a worker thread, a GPU model through pogpu.py. */
  model: GpuModel;
  /** The Python interpreter that runs pogpu.py (IDLEGRID_PYTHON). */
  python: string;
}

interface Answer {
  checksums: string[];
  elapsedMs: number;
  device: string;
}

/**
 * Answers the server's proof-of-GPU challenges (`verify` → `verify-result`). The cpu class
 * multiplies in a worker thread (heartbeats keep flowing); a GPU offer runs the Python
 * kernel, which times only the product on the GPU. One challenge at a time: a new one
 * cancels the one in progress, and work still running at the deadline is abandoned
 * (the server no longer waits for it).
 */
export class ChallengeSolver {
  private current: WorkerRun<Answer> | null = null;

  constructor(private readonly options: ChallengeSolverOptions) {}

  handler(): ServerMessageHandler<'verify'> {
    return (message, context) => this.solve(message, context);
  }

  /** Cancels the challenge in progress, if any (the agent is stopping). */
  stop(): void {
    this.current?.cancel();
    this.current = null;
  }

  private async solve(message: HandledServerMessage<'verify'>, context: SessionContext): Promise<void> {
    const { logger } = context;
    this.current?.cancel();
    const started = performance.now();
    const run = this.start(message);
    this.current = run;
    logger.info({ challengeId: message.challengeId, n: message.n, model: this.options.model, deadlineMs: message.deadlineMs }, 'verification challenge received');
    let answer: Answer;
    try {
      answer = await run.result;
    } catch (err) {
      if (err instanceof WorkerAbandoned) {
        logger.warn({ challengeId: message.challengeId, n: message.n, why: err.why }, `verification challenge abandoned: ${err.message}`);
      } else {
        logger.error({ err, challengeId: message.challengeId, python: this.options.python }, 'could not compute the verification challenge; it will count as failed');
      }
      return;
    } finally {
      if (this.current === run) this.current = null;
    }
    if (this.options.model !== 'cpu' && !answer.device.startsWith('cuda')) {
      logger.warn(
        { challengeId: message.challengeId, claimed: this.options.model, device: answer.device },
        `no CUDA device is usable from ${this.options.python} (install torch or cupy with CUDA): the ${this.options.model} challenge was computed on the CPU and will fail the timing check`,
      );
    }
    const sent = context.send({ type: 'verify-result', challengeId: message.challengeId, checksums: answer.checksums, elapsedMs: answer.elapsedMs });
    logger.info(
      { challengeId: message.challengeId, n: message.n, elapsedMs: Math.round(answer.elapsedMs * 100) / 100, totalMs: Math.round(performance.now() - started), device: answer.device, sent },
      'verification challenge answered',
    );
  }

  private start(message: HandledServerMessage<'verify'>): WorkerRun<Answer> {
    const { seed, n, deadlineMs } = message;
    if (this.options.model === 'cpu') {
      const run = runTsWorker<{ checksums: string[]; elapsedMs: number }>(SOLVE_WORKER, { seed, n }, deadlineMs);
      return { result: run.result.then((r) => ({ ...r, device: 'cpu' })), cancel: () => run.cancel() };
    }
    const run = runPythonKernel({ python: this.options.python, seed, n, device: 'auto', timeoutMs: deadlineMs });
    return { result: run.result.then((r: KernelOutput) => ({ checksums: r.checksums, elapsedMs: r.elapsedMs, device: r.device })), cancel: () => run.cancel() };
  }
}
