import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real processes and minutes of load: `npm run test:reliability` (vitest.reliability.config.ts).
    exclude: ['test/reliability/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each test file builds its own app and database (a temp SQLite file or a fresh PostgreSQL schema).
    pool: 'forks',
    reporters: ['default'],
  },
})
