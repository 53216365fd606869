import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { SignJWT } from 'jose'
import { createDb } from '../../db/client.ts'
import { type Child, freePort, ROOT, startNode, waitForHttp } from '../proc/processes.ts'
import { BENCH_PLAN, createApiKey, expectChat, grantUnlimitedPlan } from './gateway-setup.ts'
import { type BenchDatabase, createBenchDatabase } from './postgres.ts'
import { readStorage, type StorageReading } from './storage.ts'
import { type Target, UPSTREAM_KEY } from './target.ts'

/** Distinct users of the many-users scenario (each with the unlimited plan). */
export const USERS = 16

export interface GatewayHandle {
  child: Child
  /** The gateway called with the user's JWT, and (when keys work) with a gateway API key. */
  targets: Target[]
  /** How the bench user got its plan: an admin-granted subscription, or the default plan. */
  planVia: string
  /** The bench user's counters as the gateway reports them (GET /api/v1/billing/usage/{metric}). */
  usage(): Promise<string>
  /** Bytes of its database and requests recorded (read through a connection of the bench's own). */
  storage(): Promise<StorageReading>
  stop(): Promise<void>
}

export interface GatewayOptions {
  db: 'sqlite' | 'postgres'
  mockOrigin: string
  nodeArgs?: string[]
  /** Opens the inspector on 127.0.0.1:inspectPort, for the heap reading of the memory scenario. */
  inspectPort?: number
}

/** Where the bench's build of the gateway goes: what `npm start` runs (scripts/build.mjs). */
const DIST = join(ROOT, 'dist')
let built: Promise<string> | undefined

/**
 * The gateway as production runs it: scripts/build.mjs's bundle, built once per bench run (the
 * first gateway target waits for it), so the bench measures the compiled code, not tsx's.
 */
export function buildGatewayOnce(): Promise<string> {
  built ??= new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['scripts/build.mjs', '--outdir', DIST],
      { cwd: ROOT },
      (error, _stdout, stderr) => {
        if (error) reject(new Error(`scripts/build.mjs failed: ${stderr || error.message}`))
        else resolve(join(DIST, 'main.js'))
      },
    )
  })
  return built
}

/**
 * Starts the compiled gateway (dist/main.js, as `npm start` runs it) against the mock on a
 * database of its own and gives the bench user an unlimited plan through the HTTP API as an
 * admin, so every request does the full work (authenticate, entitle, estimate, reserve,
 * forward, meter, settle, usage rows).
 */
export async function startGateway(options: GatewayOptions): Promise<GatewayHandle> {
  const name = `gateway-${options.db}`
  const sqliteFile = `/tmp/bench-gateway-${process.pid}.db`
  let pgDb: BenchDatabase | undefined
  if (options.db === 'postgres') pgDb = await createBenchDatabase()
  const cleanup = async () => {
    if (pgDb) await pgDb.drop()
    for (const file of [sqliteFile, `${sqliteFile}-wal`, `${sqliteFile}-shm`]) {
      if (existsSync(file)) rmSync(file)
    }
  }
  const databaseUrl = pgDb ? pgDb.url : `sqlite:${sqliteFile}`
  const port = await freePort()
  const jwtSecret = randomBytes(32).toString('hex')
  const main = await buildGatewayOnce()
  const child = startNode(name, main, {
    compiled: true,
    nodeArgs: [
      // As `npm start` runs it.
      '--enable-source-maps',
      ...(options.inspectPort ? [`--inspect=127.0.0.1:${options.inspectPort}`] : []),
      ...(options.nodeArgs ?? []),
    ],
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      UPSTREAM_BASE_URL: `${options.mockOrigin}/v1`,
      UPSTREAM_API_KEY: UPSTREAM_KEY,
      JWT_SECRET: jwtSecret,
      LOG_LEVEL: 'warn',
      DEFAULT_PLAN_ID: BENCH_PLAN,
      GATEWAY_CONFIG: join(ROOT, 'bench/targets/gateway.config.ts'),
      YOOKASSA_SHOP_ID: '',
      YOOKASSA_SECRET_KEY: '',
    },
  })
  const stop = async () => {
    await child.stop()
    await cleanup()
  }
  try {
    const origin = `http://127.0.0.1:${port}`
    await waitForHttp(`${origin}/healthz`, child)
    const key = new TextEncoder().encode(jwtSecret)
    const mint = (sub: string, role: string) =>
      new SignJWT({ role })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime('4h')
        .sign(key)
    const admin = await mint('bench-admin', 'admin')
    // User 0 carries the single-user scenarios; all of them the many-users one.
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const id = i === 0 ? 'bench-user' : `bench-user-${i}`
        return { id, token: await mint(id, 'user') }
      }),
    )
    const planVia = await grantUnlimitedPlan(origin, admin, users)
    const user = users[0]!.token
    const headersOf = (token: string) => ({
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    })
    const jwtHeaders = headersOf(user)
    await expectChat(origin, jwtHeaders, name)
    const targets: Target[] = [
      {
        name: options.db,
        kind: 'gateway',
        pid: child.pid,
        origin,
        headers: jwtHeaders,
        inspectPort: options.inspectPort,
        dbPids: pgDb?.backendPids,
        userHeaders: users.map((u) => headersOf(u.token)),
      },
    ]
    const apiKey = await createApiKey(origin, user)
    if (apiKey) {
      const keyHeaders = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }
      await expectChat(origin, keyHeaders, `${name} (api key)`)
      targets.push({
        name: `${options.db}-key`,
        kind: 'gateway',
        pid: child.pid,
        origin,
        headers: keyHeaders,
        dbPids: pgDb?.backendPids,
      })
    }
    const usage = async () => {
      const parts: string[] = []
      for (const metric of ['requests', 'tokens_input', 'tokens_output']) {
        const res = await fetch(`${origin}/api/v1/billing/usage/${metric}`, { headers: jwtHeaders })
        const body = (await res.json().catch(() => ({}))) as { used?: number; reserved?: number }
        parts.push(`${metric} used ${body.used ?? '?'} reserved ${body.reserved ?? '?'}`)
      }
      return parts.join(', ')
    }
    const storage = async () => {
      const database = createDb(databaseUrl, { poolSize: 1 })
      try {
        return await readStorage(database)
      } finally {
        await database.close()
      }
    }
    return { child, targets, planVia, usage, storage, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
