import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createDb, type Database } from '../../db/client.ts'
import { migrateToLatest } from '../../db/migrate.ts'

/**
 * Where tests keep their data: TEST_DATABASE=postgres runs every test on a fresh
 * PostgreSQL schema (dropped afterwards), anything else on a temp SQLite file.
 */
export const TEST_DIALECT = process.env.TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite'
export const TEST_POSTGRES_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface TestDatabase {
  /** A DATABASE_URL that opens the same data again (for a second app instance or the CLI). */
  url: string
  /** PostgreSQL schema, when on PostgreSQL. */
  schema?: string
  open(): Database
  drop(): Promise<void>
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (TEST_DIALECT === 'postgres') {
    const schema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
    await adminQuery(`CREATE SCHEMA ${schema}`)
    const open = () => createDb(TEST_POSTGRES_URL, { schema })
    const database = open()
    await migrateToLatest(database.db)
    await database.close()
    return {
      url: TEST_POSTGRES_URL,
      schema,
      open,
      drop: () => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'gateway-test-'))
  const url = `sqlite:${join(dir, 'gateway.db')}`
  const open = () => createDb(url)
  const database = open()
  await migrateToLatest(database.db)
  await database.close()
  return { url, open, drop: async () => rmSync(dir, { recursive: true, force: true }) }
}

/** Runs one statement as the PostgreSQL admin (schemas are created and dropped this way). */
export async function adminQuery(text: string) {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}
