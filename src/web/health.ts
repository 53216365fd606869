import { migrationStatus } from '../../db/migrate.ts'
import type { Deps } from '../deps.ts'

/** An upstream that has not answered GET /models within this is reported down (2.5 s). */
const PROBE_TIMEOUT_MS = 2_500

export interface UpstreamHealth {
  name: string
  baseUrl: string
  hasKey: boolean
  status: number | null
  ms: number
  error: string | null
}

/** The console's health: database (reachable, migrations applied) and each upstream's GET /models. */
export async function checkHealth(deps: Pick<Deps, 'database' | 'upstreams' | 'yookassa'>) {
  const started = performance.now()
  let database: { ok: boolean; pending: number; ms: number; dialect: string }
  try {
    const { pending } = await migrationStatus(deps.database.db)
    database = {
      ok: true,
      pending: pending.length,
      ms: Math.round(performance.now() - started),
      dialect: deps.database.dialect,
    }
  } catch {
    database = { ok: false, pending: 0, ms: 0, dialect: deps.database.dialect }
  }
  const upstreams = await Promise.all(deps.upstreams.all().map(probe))
  return { database, upstreams, payments: deps.yookassa !== null }
}

async function probe(upstream: ReturnType<Deps['upstreams']['all']>[number]) {
  const started = performance.now()
  const result: UpstreamHealth = {
    name: upstream.name,
    baseUrl: upstream.config.baseUrl,
    hasKey: upstream.authorization !== undefined,
    status: null,
    ms: 0,
    error: null,
  }
  try {
    const response = await upstream.pool.request({
      method: 'GET',
      path: `${upstream.basePath}/models`,
      headers: upstream.authorization ? { authorization: upstream.authorization } : {},
      headersTimeout: PROBE_TIMEOUT_MS,
      bodyTimeout: PROBE_TIMEOUT_MS,
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    })
    await response.body.dump()
    result.status = response.statusCode
  } catch (error) {
    // The message only (never the request): the authorization header stays out of the page.
    result.error = (error as Error).name === 'TimeoutError' ? 'timeout' : (error as Error).message
  }
  result.ms = Math.round(performance.now() - started)
  return result
}
