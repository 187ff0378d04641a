import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { deriveChallengeMatrices, multiplyMod, parseChallengeSeed, rowChecksums } from '@idlegrid/economics';

/** Worker entry of the cpu class: derive, multiply (timed), checksum. See cpu-solver.ts. */
const { seed, n } = workerData as { seed: string; n: number };
const bytes = parseChallengeSeed(seed);
const { a, b } = deriveChallengeMatrices(bytes, n);
const start = performance.now();
const c = multiplyMod(a, b);
const elapsedMs = performance.now() - start;
parentPort?.postMessage({ checksums: rowChecksums(bytes, c), elapsedMs });
