/**
 * The test harness: the real app on a real database (temp SQLite file or fresh
 * PostgreSQL schema, see test-database.ts) with real migrations, a test clock,
 * captured logs, and the outside world (upstream, YooKassa) pointed at loopback
 * fakes through configuration. Nothing of the project is mocked.
 *
 *   const h = await createHarness({ env: { UPSTREAM_BASE_URL: fake.url } })
 *   const res = await h.request('/api/v1/keys', { headers: h.auth(await h.token({ sub: 'u1' })) })
 *   const base = await h.listen()        // a real socket, for SDKs and aborts
 *   const h2 = await createHarness({ shareDatabaseWith: h })   // a second replica, same database
 *   await h.close()
 *
 * Defaults: the shipped gateway.config.ts (plans free and pro, the seed's features), jobs off,
 * JWT_SECRET = TEST_JWT_SECRET, clock at 2026-01-15T12:00:00Z. `options.config` is merged over
 * the file section by section; `options.env` plays the environment.
 */

import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { type ServerType, serve } from '@hono/node-server'
import { SignJWT } from 'jose'
import type { Kysely } from 'kysely'
import type { DB } from '../../db/tables.ts'
import fileConfig from '../../gateway.config.ts'
import { createApp } from '../../src/app.ts'
import { syncConfiguredPlans } from '../../src/billing/plans.sync.ts'
import { createDeps } from '../../src/boot.ts'
import { loadConfig } from '../../src/config/load.ts'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import type { Deps } from '../../src/deps.ts'
import { answerClientErrors } from '../../src/http/client-error.ts'
import { type Liveness, startLiveness } from '../../src/ledger/liveness.job.ts'
import { createTestClock, type TestClock } from '../../src/lib/clock.ts'
import { createLogger } from '../../src/lib/logger.ts'
import { createTestDatabase, type TestDatabase } from './test-database.ts'

export const TEST_JWT_SECRET = 'test-jwt-secret-that-is-long-enough-0123456789'

export interface HarnessOptions {
  /** Merged over gateway.config.ts, one level deep (e.g. { quota: { defaultOutputReserve: 10 } }). */
  config?: Partial<GatewayConfigInput>
  /** The environment the config loader sees (merged over DATABASE_URL and JWT_SECRET). */
  env?: Record<string, string | undefined>
  /** Another harness whose database (and clock) this one shares: a second replica. */
  shareDatabaseWith?: Harness
  /** Let the real jobs timer run (off by default: tests call jobs directly). */
  jobs?: boolean
}

export interface Harness {
  app: ReturnType<typeof createApp>
  deps: Deps
  db: Kysely<DB>
  clock: TestClock
  testDatabase: TestDatabase
  /** This replica's heartbeat (started, as main.ts does; sweeps only with `jobs`): tick() beats now. */
  liveness: Liveness
  /** Every log line written so far, parsed. */
  logs: Array<Record<string, unknown>>
  /** Raw log text, for "never logs X" assertions. */
  logText(): string
  request(path: string, init?: RequestInit): Promise<Response>
  /** JSON request helper: h.json('POST', '/api/v1/keys', { name: 'k' }, token). */
  json(method: string, path: string, body?: unknown, token?: string): Promise<Response>
  token(claims: {
    sub?: string
    id?: string
    role?: string
    email?: string
    expiresIn?: number
  }): Promise<string>
  adminToken(): Promise<string>
  auth(token: string): Record<string, string>
  /** Serves the app on 127.0.0.1 (port 0) and returns its base URL. */
  listen(): Promise<string>
  close(): Promise<void>
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const shared = options.shareDatabaseWith
  const testDatabase = shared?.testDatabase ?? (await createTestDatabase())
  const clock = shared?.clock ?? createTestClock()
  const logs: Array<Record<string, unknown>> = []
  let logText = ''
  const sink = new Writable({
    write(chunk, _encoding, done) {
      const text = chunk.toString()
      logText += text
      for (const line of text.split('\n')) if (line) logs.push(JSON.parse(line))
      if (process.env.TEST_LOGS) process.stderr.write(text)
      done()
    },
  })

  const file = mergeSections(fileConfig, {
    jobs: { enabled: options.jobs ?? false },
    ...options.config,
  })
  const { config, secrets } = loadConfig({
    file,
    env: {
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'debug',
      ...options.env,
      DATABASE_URL: testDatabase.url,
    },
  })
  const database = testDatabase.open()
  const logger = createLogger(config.logLevel, sink)
  const deps = createDeps({ config, secrets, database, logger, clock })
  if (!shared) await syncConfiguredPlans(deps)
  const liveness = await startLiveness(deps, { sweep: options.jobs ?? false })
  const app = createApp(deps)
  const servers: ServerType[] = []

  const harness: Harness = {
    app,
    deps,
    db: database.db,
    clock,
    testDatabase,
    liveness,
    logs,
    logText: () => logText,
    request: async (path, init) => app.request(path, init),
    json: (method, path, body, token) =>
      harness.request(path, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? harness.auth(token) : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    token: async ({ sub, id, role, email, expiresIn = 3600 }) => {
      const nowSec = Math.floor(clock.now() / 1000)
      const claims: Record<string, string> = {}
      if (id) claims.id = id
      if (role) claims.role = role
      if (email) claims.email = email
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(nowSec)
      if (sub) jwt.setSubject(sub)
      return jwt
        .setExpirationTime(nowSec + expiresIn)
        .sign(new TextEncoder().encode(TEST_JWT_SECRET))
    },
    adminToken: () => harness.token({ sub: 'admin', role: 'admin', email: 'admin@example.com' }),
    auth: (token) => ({ authorization: `Bearer ${token}` }),
    listen: async () => {
      const server = await new Promise<ServerType>((resolve) => {
        const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
      })
      servers.push(server)
      // As src/start-gateway.ts does: Node's own refusals in the envelope.
      answerClientErrors(server as Server, logger)
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    },
    close: async () => {
      for (const server of servers) {
        ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
        await new Promise((resolve) => server.close(resolve))
      }
      // Settles the last answers left behind (pipeline/settle/settle.ts) land before the database closes.
      await deps.pendingSettles.idle(5_000)
      await liveness.stop()
      await deps.upstreams.close()
      await deps.yookassa?.close()
      await database.close()
      if (!shared) await testDatabase.drop()
    },
  }
  return harness
}

function mergeSections(base: object, overrides: Record<string, unknown>) {
  const merged: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(overrides)) {
    const current = merged[key]
    const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v)
    merged[key] =
      isObject(current) && isObject(value)
        ? { ...(current as object), ...(value as object) }
        : value
  }
  return merged
}
