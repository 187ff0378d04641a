import type { Env, RayVenv } from './venv.ts';

/**
 * Dead-node detection on the head (GCS health checks of every raylet). Ray's defaults
 * (period 3000 ms, timeout 10000 ms, threshold 5) notice a crashed node after ≈14 s.
 * idlegrid's defaults: a check every 1000 ms, each allowed 1500 ms, 3 misses in a row →
 * a SIGKILLed node is DEAD in ≈3–5 s. A node stopped with SIGTERM tells the GCS itself
 * and is DEAD at once. Lower than this risks false deaths on a loaded host.
 */
export interface HealthCheckTuning {
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckTuning = { periodMs: 1000, timeoutMs: 1500, failureThreshold: 3 };

/** Variables passed through from the caller's environment; nothing else leaks into Ray (jobs see Ray's env). */
export const PASSED_THROUGH_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

export interface RayEnvOptions {
  readonly venv: RayVenv;
  readonly token: string;
  readonly role: 'head' | 'worker';
  readonly baseEnv: Env;
  readonly extraEnv?: Readonly<Record<string, string>>;
  readonly healthCheck?: HealthCheckTuning;
}

/**
 * The environment of a Ray node: a minimal pass-through of the caller's (never the agent's
 * secrets), the venv's bin dir first on PATH (so a job's `python` is the venv's), extra
 * variables from the caller (e.g. CUDA_VISIBLE_DEVICES), then what idlegrid enforces: token
 * auth, no usage stats and, on the head, the health-check tuning.
 */
export function rayNodeEnv(options: RayEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of PASSED_THROUGH_ENV) {
    const v = options.baseEnv[key];
    if (v !== undefined && v !== '') env[key] = v;
  }
  env.PATH = `${options.venv.binDir}:${env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`;
  env.VIRTUAL_ENV = options.venv.venvDir;
  Object.assign(env, options.extraEnv ?? {});
  env.RAY_AUTH_MODE = 'token';
  env.RAY_AUTH_TOKEN = options.token;
  env.RAY_USAGE_STATS_ENABLED = '0';
  if (options.role === 'head') {
    const hc = options.healthCheck ?? DEFAULT_HEALTH_CHECK;
    env.RAY_health_check_period_ms = String(hc.periodMs);
    env.RAY_health_check_timeout_ms = String(hc.timeoutMs);
    env.RAY_health_check_failure_threshold = String(hc.failureThreshold);
  }
  return env;
}
