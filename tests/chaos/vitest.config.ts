import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: random SIGKILLs of the control plane and of agents (real Ray) with the invariants checked after every round.
export default defineConfig({
  test: {
    include: ['tests/chaos/**/*.test.ts'],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One chaos network at a time: each runs real Ray on this machine's cores.
    fileParallelism: false,
  },
});
