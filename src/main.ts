import { createRootLogger, loadFromEnvironment } from './boot.ts'
import { ConfigError } from './config/load.ts'
import { addressInUseHint } from './lib/listen-error.ts'
import { startGateway } from './start-gateway.ts'

/** The only entry: load config, open db, migrate, build the app, listen, run jobs, drain on SIGTERM. */
async function main() {
  const loaded = await loadFromEnvironment(process.env)
  const logger = createRootLogger(loaded)
  const gateway = await startGateway(loaded, logger)
  process.on('SIGTERM', () => gateway.shutdown('SIGTERM'))
  process.on('SIGINT', () => gateway.shutdown('SIGINT'))
}

main().catch((error) => {
  const message =
    error instanceof ConfigError
      ? error.message
      : (addressInUseHint(error, 'npm start') ?? (error as Error).stack)
  process.stderr.write(`gateway failed to start: ${message}\n`)
  process.exit(1)
})
