import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import { serve } from '@hono/node-server'
import { createApp } from './app.ts'
import { syncConfiguredPlans } from './billing/plans.sync.ts'
import { createDeps, openDatabase } from './boot.ts'
import type { LoadedConfig } from './config/load.ts'
import type { Deps } from './deps.ts'
import { answerClientErrors } from './http/client-error.ts'
import { giveUpAddress, takeOverAddress } from './ledger/lineage.ts'
import { startLiveness } from './ledger/liveness.job.ts'
import type { Logger } from './lib/logger.ts'
import { checkYooKassaShop } from './payments/self-check.ts'
import { startJobs } from './scheduler.ts'

export interface StartedGateway {
  deps: Deps
  /** The port actually bound (config port 0 picks a free one). */
  port: number
  /** Stops taking connections, drains in-flight requests, closes pools and the database, exits. */
  shutdown(signal: string): void
}

/**
 * Opens and migrates the database, seeds the configured plans, builds the app,
 * listens and starts the jobs: what `npm start` runs (src/main.ts), shared with
 * the demo entry so both start the gateway the same way.
 */
export async function startGateway(loaded: LoadedConfig, logger: Logger): Promise<StartedGateway> {
  const { config, secrets } = loaded
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
  // Requests wait until a crashed predecessor's reservations are ended (takeOver below), so
  // its users' next calls are not refused for requests that died with it.
  let takenOver = false
  let tookOver = () => {}
  const takingOver = new Promise<void>((resolve) => {
    tookOver = resolve
  })
  const fetch: typeof app.fetch = (...args) =>
    takenOver ? app.fetch(...args) : takingOver.then(() => app.fetch(...args))
  // A taken port (EADDRINUSE) fails the start with a message instead of an uncaught exception.
  const server = await new Promise<Server>((resolve, reject) => {
    const started = serve({ fetch, port: config.server.port, hostname: config.server.host }, () =>
      resolve(started as Server),
    )
    started.once('error', reject)
  })
  answerClientErrors(server, logger)
  const address = server.address() as AddressInfo
  const port = address.port
  await takeOver(deps, addressName(address))
  takenOver = true
  tookOver()
  logger.info({ port, host: config.server.host, database: database.dialect }, 'gateway listening')
  const jobs = startJobs(deps)

  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: no new connections, draining in-flight requests')
    jobs.stop()
    const force = setTimeout(() => {
      logger.warn('drain timeout reached, closing remaining connections')
      server.closeAllConnections()
    }, config.server.shutdownGraceMs)
    force.unref()
    // Whatever still hangs (a stuck upstream, a database that does not answer) must not keep us up.
    const hardStop = setTimeout(() => {
      logger.error('shutdown did not finish in time, exiting')
      process.exit(1)
    }, config.server.shutdownGraceMs + 15_000)
    hardStop.unref()
    // The address goes before the socket: a successor that binds it while this process drains
    // must not take what it still serves for a dead predecessor's (ledger/lineage.ts).
    void giveUp(deps).then(() => closeServer())
  }
  const closeServer = () => {
    server.close(async () => {
      await jobs.done()
      // The last answers left before their settles landed (pipeline/settle/settle.ts): those writes
      // end first, else the heartbeat row would go while this process still settles, and
      // another replica's sweeper could bill a reservation as estimated that its owner was
      // about to settle exactly.
      const settled = await deps.pendingSettles.idle(config.server.shutdownGraceMs)
      if (!settled) logger.error('settles still pending at shutdown: the sweepers will end them')
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
    server.closeIdleConnections()
  }
  return { deps, port, shutdown }
}

/** Who listens here: the host name and the bound socket, which one live process holds at a time. */
function addressName(address: AddressInfo): string {
  const ip = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `${hostname()} ${ip}:${address.port}`
}

/** A failed takeover costs only time: the sweepers end those reservations once the owner looks dead. */
async function takeOver(deps: Deps, name: string) {
  try {
    await takeOverAddress(deps, name)
  } catch (error) {
    deps.logger.error({ err: error }, "could not take over the previous process's reservations")
  }
}

/**
 * Past it the socket closes with the address still recorded: a successor that binds it then
 * ends this process's draining reservations as estimated, and their settles record a correction.
 */
const GIVE_UP_WAIT_MS = 2_000

/** At most GIVE_UP_WAIT_MS: a database that does not answer must not keep the socket open. */
async function giveUp(deps: Deps) {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, GIVE_UP_WAIT_MS)
  })
  try {
    await Promise.race([giveUpAddress(deps), late])
  } catch (error) {
    deps.logger.error({ err: error }, 'could not give up the address in gateway_instance')
  } finally {
    clearTimeout(timer)
  }
}
