import { type Kysely, type MigrationResultSet, Migrator } from 'kysely'
import { migrations } from './migrations/index.ts'

export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } })
}

/** Applies every pending migration; names what ran. Safe to call from several replicas at once. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const { error, results } = await createMigrator(db).migrateToLatest()
  if (error) throw new Error(`Migration failed: ${describeFailure(results)}`, { cause: error })
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

export interface MigrationStatus {
  applied: Array<{ name: string; executedAt: Date }>
  pending: string[]
}

/** Which migrations are applied and which are pending, like `alembic current`. */
export async function migrationStatus(db: Kysely<any>): Promise<MigrationStatus> {
  const all = await createMigrator(db).getMigrations()
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
