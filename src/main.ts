import { serve } from '@hono/node-server'
import { createApp } from './app.ts'
import { syncConfiguredPlans } from './billing/plans.sync.ts'
import { createRootLogger, loadFromEnvironment, openDatabase } from './boot.ts'
import { ConfigError } from './config/load.ts'
import { createDeps } from './deps.ts'
import { startLiveness } from './jobs/liveness.ts'
import { startJobs } from './jobs/scheduler.ts'
import { checkYooKassaShop } from './yookassa/self-check.ts'

/** The only entry: load config, open db, migrate, build the app, listen, run jobs, drain on SIGTERM. */
async function main() {
  const loaded = await loadFromEnvironment(process.env)
  const { config, secrets } = loaded
  const logger = createRootLogger(loaded)
  const database = await openDatabase(loaded, logger)
  const deps = createDeps({ config, secrets, database, logger })

  await syncConfiguredPlans(deps)
  if (deps.yookassa) {
    logger.info('YooKassa billing client initialized')
    void checkYooKassaShop(deps)
  } else
    logger.info(
      'YooKassa billing not configured (set YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY to enable)',
    )
  if (!secrets.jwtSecret && !config.auth.jwksUrl) {
    logger.warn(
      'Neither JWT_SECRET nor JWT_JWKS_URL is set: only gateway API keys can authenticate',
    )
  }

  // Known alive before the first reservation: see startLiveness.
  const liveness = await startLiveness(deps, { sweep: config.jobs.enabled })
  const app = createApp(deps)
  const server = serve(
    { fetch: app.fetch, port: config.server.port, hostname: config.server.host },
    (info) =>
      logger.info(
        { port: info.port, host: config.server.host, database: database.dialect },
        'gateway listening',
      ),
  )
  const jobs = startJobs(deps)

  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: no new connections, draining in-flight requests')
    jobs.stop()
    const force = setTimeout(() => {
      logger.warn('drain timeout reached, closing remaining connections')
      ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
    }, config.server.shutdownGraceMs)
    force.unref()
    // Whatever still hangs (a stuck upstream, a database that does not answer) must not keep us up.
    const hardStop = setTimeout(() => {
      logger.error('shutdown did not finish in time, exiting')
      process.exit(1)
    }, config.server.shutdownGraceMs + 15_000)
    hardStop.unref()
    server.close(async () => {
      await jobs.done()
      // After the in-flight requests drained: retries any refused settle, then leaves
      // gateway_instance, so what this process still owns is swept at once elsewhere.
      await liveness.tick()
      await liveness.stop()
      await deps.upstreams.close()
      await deps.yookassa?.close()
      await database.close()
      logger.info('stopped')
      process.exit(0)
    })
    ;(server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.()
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

main().catch((error) => {
  const message = error instanceof ConfigError ? error.message : (error as Error).stack
  process.stderr.write(`gateway failed to start: ${message}\n`)
  process.exit(1)
})
