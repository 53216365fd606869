import { type Kysely, type MigrationResultSet, Migrator, PostgresAdapter, sql } from 'kysely'
import { migrations } from './migrations/index.ts'

/**
 * On PostgreSQL the migration tables are pinned to the connection's current schema:
 * without it Kysely's Migrator takes a kysely_migration table in ANY schema of the
 * database (another app's, a parallel test's) as its own, skips creating it, then
 * fails with `relation "kysely_migration_lock" does not exist` on its search_path.
 */
export async function createMigrator(db: Kysely<any>): Promise<Migrator> {
  const provider = { getMigrations: async () => migrations }
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return new Migrator({ db, provider })
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db)
  return new Migrator({ db, provider, migrationTableSchema: rows[0]!.schema })
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
