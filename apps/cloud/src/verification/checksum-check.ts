import { seededRandom } from '@idlegrid/domain';
import { parseChallengeSeed, verifyRowChecksums, type ChallengeVerdict } from '@idlegrid/economics';
import { runTsWorker } from '@idlegrid/protocol';

export interface ChecksumJob {
  seed: string;
  n: number;
  checksums: readonly string[];
  /** Seeds the choice of spot-checked rows (drawn from the caller's random source). */
  spotSeed: number;
}

/** Up to this n the check runs inline (a few ms); above, in a worker thread (n = 8192: seconds of hashing). */
export const INLINE_CHECK_MAX_N = 1024;
const CHECK_WORKER = new URL('./check-worker.ts', import.meta.url);
const CHECK_TIMEOUT_MS = 120_000;

/** verifyRowChecksums (Freivalds + spot-recomputed row digests), in a worker for large n. */
export async function checkChecksums(job: ChecksumJob): Promise<ChallengeVerdict> {
  if (job.n <= INLINE_CHECK_MAX_N) {
    return verifyRowChecksums(parseChallengeSeed(job.seed), job.n, job.checksums, seededRandom(job.spotSeed));
  }
  return runTsWorker<ChallengeVerdict>(CHECK_WORKER, job, CHECK_TIMEOUT_MS).result;
}
