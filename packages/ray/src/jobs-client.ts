import { setTimeout as sleep } from 'node:timers/promises';
import { RayError } from './errors.ts';
import { rayJson, type RayHttpTarget } from './http-client.ts';
import {
  TERMINAL_JOB_STATUSES,
  rayJobDeleteReplySchema,
  rayJobDetailsSchema,
  rayJobListSchema,
  rayJobLogsReplySchema,
  rayJobStopReplySchema,
  rayJobSubmitReplySchema,
  submitRequestBody,
  type RayJobDetails,
  type RayJobStatus,
  type RayJobSubmitReply,
  type SubmitJobRequest,
} from './jobs-schemas.ts';

export interface TailOptions {
  /** Poll interval (default 1000 ms). */
  readonly pollMs?: number;
  /** Stop following (the iterator ends). */
  readonly signal?: AbortSignal;
}

/** Ray's Jobs REST API (`/api/jobs/…` on the head's dashboard or through the proxy). */
export interface RayJobsClient {
  submitJob(request: SubmitJobRequest): Promise<RayJobSubmitReply>;
  getJob(id: string): Promise<RayJobDetails>;
  listJobs(): Promise<RayJobDetails[]>;
  getJobLogs(id: string): Promise<string>;
  /**
   * Yields new log text until the job is terminal (then the rest, then ends). Polls
   * `/logs` (Ray's `/logs/tail` is a WebSocket, which Node 20 lacks without a library).
   */
  tailJobLogs(id: string, options?: TailOptions): AsyncIterable<string>;
  /** true when Ray stopped it, false when it was already terminal. */
  stopJob(id: string): Promise<boolean>;
  /** Deletes a terminal job's record. */
  deleteJob(id: string): Promise<boolean>;
  /** Until the job's status is one of `terminalStates` (default STOPPED/SUCCEEDED/FAILED) or terminal. */
  waitForJob(id: string, terminalStates?: readonly RayJobStatus[], timeoutMs?: number): Promise<RayJobDetails>;
}

const enc = encodeURIComponent;
const jobErrors = { errorCode: 'RAY_JOB_API_ERROR', notFoundCode: 'RAY_JOB_NOT_FOUND' } as const;

export function createJobsClient(target: RayHttpTarget): RayJobsClient {
  const getJob = (id: string): Promise<RayJobDetails> => rayJson(target, { method: 'GET', path: `/api/jobs/${enc(id)}` }, rayJobDetailsSchema, jobErrors);
  const getJobLogs = async (id: string): Promise<string> =>
    (await rayJson(target, { method: 'GET', path: `/api/jobs/${enc(id)}/logs` }, rayJobLogsReplySchema, jobErrors)).logs;

  return {
    submitJob: async (request) => {
      if (request.entrypoint.trim() === '') throw new RayError('RAY_INVALID_OPTIONS', 'A job needs an entrypoint');
      return rayJson(target, { method: 'POST', path: '/api/jobs/', body: submitRequestBody(request) }, rayJobSubmitReplySchema, jobErrors);
    },
    getJob,
    listJobs: () => rayJson(target, { method: 'GET', path: '/api/jobs/' }, rayJobListSchema, jobErrors),
    getJobLogs,
    async *tailJobLogs(id, options = {}) {
      let sent = 0;
      for (;;) {
        const terminal = TERMINAL_JOB_STATUSES.includes((await getJob(id)).status as RayJobStatus);
        const logs = await getJobLogs(id);
        if (logs.length > sent) {
          yield logs.slice(sent);
          sent = logs.length;
        }
        if (terminal || options.signal?.aborted === true) return;
        await sleep(options.pollMs ?? 1_000, undefined, { signal: options.signal }).catch(() => undefined);
      }
    },
    stopJob: async (id) => (await rayJson(target, { method: 'POST', path: `/api/jobs/${enc(id)}/stop` }, rayJobStopReplySchema, jobErrors)).stopped,
    deleteJob: async (id) => (await rayJson(target, { method: 'DELETE', path: `/api/jobs/${enc(id)}` }, rayJobDeleteReplySchema, jobErrors)).deleted,
    async waitForJob(id, terminalStates = TERMINAL_JOB_STATUSES, timeoutMs = 300_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await getJob(id);
        // A terminal job never changes again: return it even if it is not one of terminalStates.
        if ((terminalStates as readonly string[]).includes(job.status) || TERMINAL_JOB_STATUSES.includes(job.status as RayJobStatus)) return job;
        if (Date.now() >= deadline) {
          throw new RayError('RAY_TIMEOUT', `Job ${id} is still ${job.status} after ${timeoutMs} ms`, { id, status: job.status, timeoutMs });
        }
        await sleep(500);
      }
    },
  };
}
