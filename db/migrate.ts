import {
  type DatabaseIntrospector,
  type Kysely,
  type MigrationResultSet,
  Migrator,
  PostgresAdapter,
  sql,
} from 'kysely'
import { migrations } from './migrations/index.ts'

/**
 * On PostgreSQL the migration tables are pinned to the connection's current schema:
 * without it Kysely's Migrator takes a kysely_migration table in ANY schema of the
 * database (another app's, a parallel test's) as its own, skips creating it, then
 * fails with `relation "kysely_migration_lock" does not exist` on its search_path.
 */
async function createMigrator(db: Kysely<any>): Promise<Migrator> {
  const provider = { getMigrations: async () => migrations }
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return new Migrator({ db, provider })
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db)
  const schema = rows[0]!.schema
  return new Migrator({
    db: withSchemaIntrospection(db, schema),
    provider,
    migrationTableSchema: schema,
  })
}

/**
 * Kysely's PostgreSQL introspector lists every column of every schema and calls
 * pg_get_serial_sequence on each: a schema dropped meanwhile (a parallel test's,
 * another app's) fails the whole migration with 3F000 "schema does not exist",
 * and the scan grows with the database. The Migrator only asks whether its two
 * tables exist, so it gets an introspector that looks at its own schema alone.
 */
function withSchemaIntrospection(db: Kysely<any>, schema: string): Kysely<any> {
  const introspection: DatabaseIntrospector = {
    getSchemas: async () => [{ name: schema }],
    getTables: async () => {
      const { rows } = await sql<{ name: string }>`
        select table_name as name from information_schema.tables where table_schema = ${schema}
      `.execute(db)
      return rows.map(({ name }) => ({ name, schema, isView: false, columns: [] }))
    },
    getMetadata: async () => ({ tables: await introspection.getTables() }),
  }
  return new Proxy(db, {
    get(target, property) {
      if (property === 'introspection') return introspection
      const value = Reflect.get(target, property, target)
      // Kysely's methods use private fields: they must run on the real instance.
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** Applies every pending migration; names what ran. Safe to call from several replicas at once. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const { error, results } = await (await createMigrator(db)).migrateToLatest()
  if (error) throw new Error(`Migration failed: ${describeFailure(results)}`, { cause: error })
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

export interface MigrationStatus {
  applied: Array<{ name: string; executedAt: Date }>
  pending: string[]
}

/** Which migrations are applied and which are pending, like `alembic current`. */
export async function migrationStatus(db: Kysely<any>): Promise<MigrationStatus> {
  const all = await (await createMigrator(db)).getMigrations()
  return {
    applied: all
      .filter((m) => m.executedAt)
      .map((m) => ({ name: m.name, executedAt: m.executedAt! })),
    pending: all.filter((m) => !m.executedAt).map((m) => m.name),
  }
}

function describeFailure(results: MigrationResultSet['results']): string {
  const failed = results?.find((r) => r.status === 'Error')
  return failed ? failed.migrationName : 'unknown migration'
}
