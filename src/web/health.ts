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
/** One key of an upstream's pool as the failover loop sees it (pipeline/upstream/key-health.ts). */
export interface KeyHealthRow {
  upstream: string
  /** The environment variable the key came from, never the key. */
  key: string
  state: 'ok' | 'rate_limited' | 'failing' | 'refused'
  /** Seconds until it is tried again; 0 when it is in rotation. */
  restsForS: number
  requests: number
  failures: string
  rests: number
  avgMs: number | null
}

/** Every key's state and counts since the process started (the metrics hold the same per key). */
export function keyHealth(deps: Pick<Deps, 'upstreams' | 'clock'>): KeyHealthRow[] {
  const now = deps.clock.now()
  return deps.upstreams.all().flatMap((upstream) =>
    upstream.keys.map(({ label, health }) => {
      const resting = health.restUntil > now
      return {
        upstream: upstream.name,
        key: label,
        state: resting ? (health.reason ?? 'failing') : 'ok',
        restsForS: resting ? Math.ceil((health.restUntil - now) / 1000) : 0,
        requests: health.requests,
        failures: Object.entries(health.failures)
          .map(([kind, n]) => `${kind} ${n}`)
          .join(', '),
        rests: health.rests,
        avgMs: health.answered > 0 ? Math.round(health.latencyMsTotal / health.answered) : null,
      }
    }),
  )
}

export async function checkHealth(
  deps: Pick<Deps, 'database' | 'upstreams' | 'yookassa' | 'clock'>,
) {
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
  return { database, upstreams, keys: keyHealth(deps), payments: deps.yookassa !== null }
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
