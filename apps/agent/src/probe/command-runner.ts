import { execFile } from 'node:child_process';

export type CommandFailure = 'missing' | 'timeout' | 'failed';

/** Why a probe command produced no output: the program is missing, timed out, or failed. */
export class CommandError extends Error {
  readonly failure: CommandFailure;

  constructor(failure: CommandFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommandError';
    this.failure = failure;
  }
}

/**
 * Runs a program and resolves with its stdout. Rejects (preferably with a CommandError)
 * when the program is missing, exits non-zero, or runs longer than `timeoutMs` (it is
 * then killed). Injected into the probe so tests feed fixture text instead of running
 * nvidia-smi.
 */
export type CommandRunner = (file: string, args: readonly string[], options: { timeoutMs: number }) => Promise<string>;

/** Largest stdout accepted from a probe command; `nvidia-smi -q -x` on 8 GPUs is ~250 KB. */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

export const execCommand: CommandRunner = (file, args, { timeoutMs }) =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8', windowsHide: true },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout);
          return;
        }
        const info = error as Error & { code?: unknown; killed?: boolean };
        if (info.code === 'ENOENT') reject(new CommandError('missing', `${file} not found`, { cause: error }));
        else if (info.killed) reject(new CommandError('timeout', `${file} did not finish within ${timeoutMs} ms`, { cause: error }));
        else {
          const detail = (stderr.trim() || stdout.trim() || error.message).slice(0, 500);
          reject(new CommandError('failed', `${file} failed: ${detail}`, { cause: error }));
        }
      },
    );
  });

export function commandFailure(error: unknown): CommandFailure {
  return error instanceof CommandError ? error.failure : 'failed';
}
