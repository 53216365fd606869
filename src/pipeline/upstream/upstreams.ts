import { Pool } from 'undici'
import type { Secrets } from '../../config/load.ts'
import type { Config } from '../../config/schema.ts'
import { matchesAny } from '../admission/model-access.ts'
import { anthropicHeaderPolicy } from './anthropic-headers.ts'
import type { UpstreamHeaderPolicy } from './headers.ts'
import { newKeyHealth } from './key-health.ts'
import { newModelListState } from './model-list-cache.ts'
import { createRouter, type Route } from './routes.ts'
import type { Upstream, UpstreamKey } from './upstream.types.ts'

export type { Upstream, UpstreamKey }

export interface Upstreams {
  /**
   * The upstream a model is routed to: the first (other than "default") whose
   * patterns match, else "default" (else the first configured).
   */
  forModel(model: string): Upstream
  /** Where a model may be sent, in the order routes.ts gives (its deployments and their keys). */
  route(model: string): Route
  all(): readonly Upstream[]
  close(): Promise<void>
}

/**
 * One undici Pool per configured upstream, with the config's connect, headers
 * and body timeouts. Pools are the only HTTP client the proxy uses: Node's
 * bundled fetch costs milliseconds per call on this stack (docs/reference/ARCHITECTURE.md).
 */
export function createUpstreams(
  config: Pick<Config, 'upstreams' | 'routes'>,
  secrets: Secrets,
): Upstreams {
  const list: Upstream[] = config.upstreams.map((upstream) => {
    const url = new URL(upstream.baseUrl)
    const key = secrets.upstreamApiKeys[upstream.name]
    const pool = secrets.upstreamKeyPools?.[upstream.name] ?? [
      { env: upstream.apiKeyEnv ?? 'UPSTREAM_API_KEY', key },
    ]
    const anthropic = upstream.kind === 'anthropic'
    // Anthropic takes its key as x-api-key (anthropic-headers.ts); OpenAI's as a bearer token.
    const policyFor = (key: string | undefined): UpstreamHeaderPolicy => {
      const bearer = key && !anthropic ? `Bearer ${key}` : undefined
      return anthropic
        ? anthropicHeaderPolicy(upstream, key)
        : {
            authorization: bearer,
            fixed: upstream.headers,
            fromClient: upstream.forwardClientHeaders,
          }
    }
    const first = policyFor(pool[0]?.key)
    const made: Upstream = {
      name: upstream.name,
      pool: new Pool(url.origin, {
        connections: upstream.connections,
        connectTimeout: upstream.connectTimeoutMs,
        headersTimeout: upstream.headersTimeoutMs,
        bodyTimeout: upstream.bodyTimeoutMs,
      }),
      basePath: url.pathname.replace(/\/+$/, ''),
      authorization: first.authorization,
      headers: first,
      config: upstream,
      keys: [],
      modelList: newModelListState(),
    }
    made.keys = pool.map(({ env, key }) => {
      const label = key ? env : 'none'
      const headers = policyFor(key)
      return {
        upstream: made,
        label,
        id: `${made.name}/${label}`,
        labels: { upstream: made.name, key: label },
        authorization: headers.authorization,
        headers,
        health: newKeyHealth(),
      }
    })
    return made
  })
  if (list.length === 0) throw new Error('No upstream configured')
  const fallback = list.find((u) => u.name === 'default') ?? list[0]!
  // Routing is decided once per model name; the set of names in use is small.
  const routes = new Map<string, Upstream>()

  const upstreams: Upstreams = {
    forModel(model) {
      let upstream = routes.get(model)
      if (!upstream) {
        // The default upstream is the fallback, tried last whatever its place in the list.
        upstream =
          list.find((u) => u !== fallback && matchesAny(u.config.models, model)) ?? fallback
        if (routes.size < 10_000) routes.set(model, upstream)
      }
      return upstream
    },
    route: (model) => router(model),
    all: () => list,
    async close() {
      await Promise.all(list.map((u) => u.pool.close()))
    },
  }
  const router = createRouter(config.routes, list, (model) => upstreams.forModel(model))
  return upstreams
}
