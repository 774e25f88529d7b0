import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'sdk/test/**/*.test.ts'],
    // argon2id holds 19 MiB and ~60 ms of CPU per hash; two workers keep the 2-core machines busy
    // without starving the servers under test.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
