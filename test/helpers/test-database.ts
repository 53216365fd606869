import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
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
    const schema = newSchemaName('t')
    const open = () => createDb(TEST_POSTGRES_URL, { schema })
    const scriptFor = await migratedSchemaScript()
    if (scriptFor) {
      await adminQuery(scriptFor(schema))
    } else {
      await adminQuery(`CREATE SCHEMA ${schema}`)
      const database = open()
      await migrateToLatest(database.db)
      await database.close()
    }
    return {
      url: TEST_POSTGRES_URL,
      schema,
      open,
      drop: () => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'gateway-test-'))
  const file = join(dir, 'gateway.db')
  writeFileSync(file, await migratedSqliteBytes())
  const url = `sqlite:${file}`
  return {
    url,
    open: () => createDb(url),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  }
}

let migratedSqlite: Promise<Buffer> | undefined

/**
 * The migrations run once per test process, into a scratch file kept in memory; each test
 * database is a copy of those bytes (the file was closed, so its WAL is folded in and the
 * file alone is the whole database).
 */
function migratedSqliteBytes(): Promise<Buffer> {
  migratedSqlite ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-template-'))
    try {
      const file = join(dir, 'gateway.db')
      const database = createDb(`sqlite:${file}`)
      await migrateToLatest(database.db)
      await database.close()
      return readFileSync(file)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })()
  return migratedSqlite
}

function newSchemaName(prefix: string) {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
}

/** The SQL that creates `schema` as the migrations leave it. */
type SchemaScript = (schema: string) => string

let migratedScript: Promise<SchemaScript | null> | undefined

/**
 * A fresh PostgreSQL schema, migrated, costs a second or more (nine migrations, each with
 * Kysely's lock, its introspection and a commit), and the PostgreSQL pass creates hundreds.
 * So the migrations run once per test process, into a template schema that pg_dump turns into
 * one script (tables, indexes, the rows the migrations insert, Kysely's own bookkeeping);
 * each test schema is that script under its own name, in one round trip. Without pg_dump
 * (or when it fails) every schema is migrated as before. Whatever the migrations do, the
 * script reproduces it: it is read from their result, not written by hand.
 */
function migratedSchemaScript(): Promise<SchemaScript | null> {
  migratedScript ??= dumpMigratedSchema().catch((error) => {
    console.warn(`Test schemas are migrated one by one (slower): ${error?.message ?? error}`)
    return null
  })
  return migratedScript
}

async function dumpMigratedSchema(): Promise<SchemaScript> {
  const placeholder = newSchemaName('template')
  await adminQuery(`CREATE SCHEMA ${placeholder}`)
  try {
    const database = createDb(TEST_POSTGRES_URL, { schema: placeholder })
    try {
      await migrateToLatest(database.db)
    } finally {
      await database.close()
    }
    const url = new URL(TEST_POSTGRES_URL)
    const { stdout } = await promisify(execFile)(
      'pg_dump',
      ['--dbname', url.href, '--schema', placeholder, '--inserts', '--no-owner', '--no-privileges'],
      { maxBuffer: 16 * 1024 * 1024 },
    )
    // psql's meta-commands (\restrict, \unrestrict) are not SQL.
    const text = stdout
      .split('\n')
      .filter((line) => !line.startsWith('\\'))
      .join('\n')
    if (!text.includes(`CREATE SCHEMA ${placeholder};`)) throw new Error('pg_dump gave no schema')
    // The template's name is unique (pid and random), so it appears nowhere else in the text.
    return (schema) => text.replaceAll(placeholder, schema)
  } finally {
    await adminQuery(`DROP SCHEMA IF EXISTS ${placeholder} CASCADE`)
  }
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
