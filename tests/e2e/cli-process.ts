import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../apps/cli/bin/idlegrid.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `idlegrid` command to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`idlegrid ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running `idlegrid` command and resolves with its first `count` stdout lines (parsed). */
export function startCliLines(args: string[], env: NodeJS.ProcessEnv, count: number, timeoutMs = 300_000): Promise<{ child: ChildProcess; lines: unknown[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`idlegrid ${args.join(' ')} printed ${stdout.split('\n').length - 1}/${count} lines in time; stderr: ${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const lines = stdout.split('\n').slice(0, -1);
      if (lines.length < count) return;
      clearTimeout(timer);
      resolve({ child, lines: lines.slice(0, count).map((l) => JSON.parse(l) as unknown) });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`idlegrid ${args.join(' ')} exited ${code}; stderr: ${stderr}`));
    });
  });
}

/** Starts a long-running `idlegrid` command and resolves with its first stdout line (parsed). */
export async function startCli<T>(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<{ child: ChildProcess; first: T }> {
  const { child, lines } = await startCliLines(args, env, 1, timeoutMs);
  return { child, first: lines[0] as T };
}

export function exited(child: ChildProcess, timeoutMs = 20_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('process did not exit')), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
