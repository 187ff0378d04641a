import { z } from 'zod';

/** Ray job statuses (Ray 2.60 `JobStatus`). */
export const RAY_JOB_STATUSES = ['PENDING', 'RUNNING', 'STOPPED', 'SUCCEEDED', 'FAILED'] as const;
export type RayJobStatus = (typeof RAY_JOB_STATUSES)[number];
export const TERMINAL_JOB_STATUSES: readonly RayJobStatus[] = ['STOPPED', 'SUCCEEDED', 'FAILED'];

export function isTerminalJobStatus(s: string): boolean {
  return (TERMINAL_JOB_STATUSES as readonly string[]).includes(s);
}

/**
 * `GET /api/jobs/{id}` and the items of `GET /api/jobs/` (Ray's JobDetails). Field names
 * are Ray's (snake_case) so what the proxy passes through and what TS code reads match.
 * Lenient: unknown fields are kept; the status is any string (new Ray statuses don't break us).
 */
export const rayJobDetailsSchema = z.looseObject({
  type: z.string().optional(),
  job_id: z.string().nullish(),
  submission_id: z.string().nullish(),
  status: z.string(),
  entrypoint: z.string(),
  message: z.string().nullish(),
  error_type: z.string().nullish(),
  start_time: z.number().nullish(),
  end_time: z.number().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  runtime_env: z.record(z.string(), z.unknown()).nullish(),
  driver_agent_http_address: z.string().nullish(),
  driver_node_id: z.string().nullish(),
  driver_exit_code: z.number().nullish(),
  entrypoint_num_cpus: z.number().nullish(),
  entrypoint_num_gpus: z.number().nullish(),
  entrypoint_memory: z.number().nullish(),
  entrypoint_resources: z.record(z.string(), z.number()).nullish(),
});
export type RayJobDetails = z.infer<typeof rayJobDetailsSchema>;

export const rayJobListSchema = z.array(rayJobDetailsSchema);

/** `POST /api/jobs/` answer. */
export const rayJobSubmitReplySchema = z.looseObject({
  submission_id: z.string(),
  job_id: z.string().nullish(),
});
export type RayJobSubmitReply = z.infer<typeof rayJobSubmitReplySchema>;

export const rayJobStopReplySchema = z.looseObject({ stopped: z.boolean() });
export const rayJobDeleteReplySchema = z.looseObject({ deleted: z.boolean() });
export const rayJobLogsReplySchema = z.looseObject({ logs: z.string() });

/** What `submitJob` takes (camelCase here; sent as Ray's JobSubmitRequest). */
export interface SubmitJobRequest {
  readonly entrypoint: string;
  readonly submissionId?: string;
  /** Ray runtime_env, e.g. { env_vars: {...}, pip: [...] } (a working_dir must be a URI: no upload here). */
  readonly runtimeEnv?: Readonly<Record<string, unknown>>;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly entrypointNumCpus?: number;
  readonly entrypointNumGpus?: number;
  readonly entrypointMemory?: number;
  readonly entrypointResources?: Readonly<Record<string, number>>;
}

export function submitRequestBody(r: SubmitJobRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { entrypoint: r.entrypoint };
  if (r.submissionId !== undefined) body.submission_id = r.submissionId;
  if (r.runtimeEnv !== undefined) body.runtime_env = r.runtimeEnv;
  if (r.metadata !== undefined) body.metadata = r.metadata;
  if (r.entrypointNumCpus !== undefined) body.entrypoint_num_cpus = r.entrypointNumCpus;
  if (r.entrypointNumGpus !== undefined) body.entrypoint_num_gpus = r.entrypointNumGpus;
  if (r.entrypointMemory !== undefined) body.entrypoint_memory = r.entrypointMemory;
  if (r.entrypointResources !== undefined) body.entrypoint_resources = r.entrypointResources;
  return body;
}
