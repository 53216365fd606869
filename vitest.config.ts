import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real processes and minutes of load: `npm run test:reliability` (vitest.reliability.config.ts),
    // the scenarios that start the real entry points as child processes included.
    exclude: ['test/reliability/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each test file builds its own app and database (a temp SQLite file or a fresh PostgreSQL schema).
    pool: 'forks',
    // One module graph per worker, not per file: importing src/ and its libraries again for every
    // file was two thirds of a run. Safe because nothing under src/ keeps per-app state in a module
    // (each app holds its own caches, metrics registry and clock) and no test mocks a module
    // (vi.mock would leak into the next file of the worker: such a test needs isolation back).
    isolate: false,
    reporters: ['default'],
  },
})
