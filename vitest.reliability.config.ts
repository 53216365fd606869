import { defineConfig } from 'vitest/config'

/**
 * `npm run test:reliability`: real gateway processes on loopback, one scenario
 * file at a time (they start processes and load the machine; running them in
 * parallel would measure the scheduler, not the gateway). docs/reliability.md.
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
})
