import { createDb, type Database } from '../db/client.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { type LoadedConfig, loadConfig, readConfigFile } from './config/load.ts'
import { prettyDestination, resolveLogFormat } from './lib/log-format.ts'
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

/** JSON lines, or pretty colored lines for a person at a terminal (config logFormat, LOG_FORMAT). */
export function createRootLogger(
  loaded: LoadedConfig,
  stdout: { isTTY?: boolean } = process.stdout,
): Logger {
  const isTty = stdout.isTTY === true
  const format = resolveLogFormat(loaded.config.logFormat, isTty)
  const destination = format === 'pretty' ? prettyDestination({ colorize: isTty }) : undefined
  return createLogger(loaded.config.logLevel, destination)
}
