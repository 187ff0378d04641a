import { defineConfig } from 'vitest/config';

// `npm run test:browser`: the dashboard in Debian's Chromium against a local network (3 agents, real Ray).
export default defineConfig({
  test: {
    include: ['tests/browser/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
