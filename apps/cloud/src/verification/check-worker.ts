import { parentPort, workerData } from 'node:worker_threads';
import { seededRandom } from '@idlegrid/domain';
import { parseChallengeSeed, verifyRowChecksums } from '@idlegrid/economics';
import type { ChecksumJob } from './checksum-check.ts';

/** Worker entry: the O(n²) checksum check of a large challenge, off the control plane's event loop. */
const job = workerData as ChecksumJob;
parentPort?.postMessage(verifyRowChecksums(parseChallengeSeed(job.seed), job.n, job.checksums, seededRandom(job.spotSeed)));
