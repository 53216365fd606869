import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createDb, type Database } from '../../db/client.ts'
import { mintToken } from '../../src/cli/token.ts'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.ts'
import {
  createProcessDatabase,
  freePort,
  type ProcessDatabase,
  type RunningGateway,
  startProcess,
  waitForOk,
} from '../helpers/spawn-gateway.ts'

/**
 * Real gateway processes (src/main.ts) on one database (a PostgreSQL schema,
 * or one SQLite file), a fake upstream, tokens, and a handle on the database
 * for the audit. Everything listens on 127.0.0.1.
 */
export const JWT_SECRET = 'reliability-secret-0123456789abcdef-long'

export interface Replica {
  gateway: RunningGateway
  base: string
}

export interface Cluster {
  database: ProcessDatabase
  db: Database
  upstream: FakeUpstream
  replicas: Replica[]
  start(env?: Record<string, string>, nodeArgs?: string[]): Promise<Replica>
  /** A JWT for `sub` (role `admin` for the admin API). */
  token(sub: string, role?: 'admin'): Promise<string>
  close(): Promise<void>
}

export async function startCluster(
  config: Partial<GatewayConfigInput>,
  count: number,
  /** Environment every replica gets (a fake YooKassa's, ...); start(env) adds to it. */
  sharedEnv: Record<string, string> = {},
): Promise<Cluster> {
  const database = await createProcessDatabase()
  const upstream = await startFakeUpstream()
  const configFile = join(database.dir, 'reliability.config.ts')
  writeFileSync(configFile, `export default ${JSON.stringify(config)}\n`)
  const replicas: Replica[] = []
  let db: Database | undefined
  const cluster: Cluster = {
    database,
    get db() {
      db ??= createDb(database.url)
      return db
    },
    upstream,
    replicas,
    async start(env = {}) {
      const port = await freePort()
      const gateway = startProcess('src/main.ts', [], {
        DATABASE_URL: database.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        JWT_SECRET,
        GATEWAY_CONFIG: configFile,
        UPSTREAM_BASE_URL: upstream.url,
        UPSTREAM_API_KEY: 'sk-upstream-reliability',
        ...sharedEnv,
        ...env,
      })
      const base = `http://127.0.0.1:${port}`
      const replica = { gateway, base }
      replicas.push(replica)
      await waitForOk(`${base}/healthz`, gateway).catch((error: Error) => {
        throw new Error(`replica ${replicas.length} of ${database.url}: ${error.message}`)
      })
      return replica
    },
    token: (sub, role) =>
      mintToken({ upstreamApiKeys: {}, jwtSecret: JWT_SECRET }, { sub, ...(role ? { role } : {}) }),
    async close() {
      for (const replica of replicas.splice(0)) await replica.gateway.stop('SIGKILL')
      await upstream.close()
      await db?.close()
      await database.drop()
    },
  }
  // One after the other: the first start migrates the empty database.
  for (let i = 0; i < count; i++) await cluster.start()
  return cluster
}

/** A plan every scenario's users are on (the default plan), with the given quotas. */
export function planConfig(
  quotas: { requests: number; tokens_input?: number; tokens_output?: number },
  extra: Partial<GatewayConfigInput> = {},
): Partial<GatewayConfigInput> {
  return {
    plans: [
      {
        id: 'test',
        name: 'Test',
        price: 0,
        quotas: { tokens_input: 10_000_000, tokens_output: 10_000_000, ...quotas },
      },
    ],
    billing: { defaultPlanId: 'test' },
    // Every model open to the plan: the scenarios measure the ledger, not model access.
    openModels: ['*'],
    ...extra,
    // Bursts are the scenarios' load: in flight is unlimited unless a plan sets it (the
    // schema's default is 8).
    quota: { defaultMaxConcurrentRequests: null, ...extra.quota },
  }
}

export interface Answer {
  status: number
  text: string
  /** Milliseconds from the request to the end of its body. */
  ms: number
}

/** A chat completion to one replica, read to its end: status and body, or the network error. */
export async function chat(
  base: string,
  token: string,
  options: { stream?: boolean; signal?: AbortSignal } = {},
): Promise<Answer | Error> {
  const started = Date.now()
  try {
    const response = await send(base, token, options)
    const text = await response.text()
    return { status: response.status, text, ms: Date.now() - started }
  } catch (error) {
    return error as Error
  }
}

/** The request alone: the Response as soon as its headers arrive. */
export function send(
  base: string,
  token: string,
  options: { stream?: boolean; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello there' }],
      stream: options.stream ?? false,
    }),
    signal: options.signal,
  })
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until no reservation is left (settles are asynchronous), or the time is up. */
export async function untilNothingReserved(db: Database, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const rows = await db.db.selectFrom('billing_reservation').select('request_id').execute()
    if (rows.length === 0) return
    await sleep(100)
  }
}
