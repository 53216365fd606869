import { createDb, type Database } from '../db/client.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { type LoadedConfig, loadConfig, readConfigFile } from './config/load.ts'
import { createLogger, type Logger } from './lib/logger.ts'

/** Shared by main.ts and the CLI: read the config file and the environment, once. */
export async function loadFromEnvironment(env: NodeJS.ProcessEnv): Promise<LoadedConfig> {
  const file = await readConfigFile(env.GATEWAY_CONFIG ?? './gateway.config.ts')
  return loadConfig({ file, env })
}

/** Opens the database and applies pending migrations, logging what ran. */
export async function openDatabase(loaded: LoadedConfig, logger: Logger): Promise<Database> {
  const database = createDb(loaded.config.database.url)
  const applied = await migrateToLatest(database.db)
  if (applied.length > 0)
    logger.info({ migrations: applied }, `Applied migrations: ${applied.join(', ')}`)
  else logger.info('Database schema is up to date, no migration applied')
  return database
}

export function createRootLogger(loaded: LoadedConfig): Logger {
  return createLogger(loaded.config.logLevel)
}
