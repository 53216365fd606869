import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each test file builds its own app and database (a temp SQLite file or a fresh PostgreSQL schema).
    pool: 'forks',
    reporters: ['default'],
  },
})
