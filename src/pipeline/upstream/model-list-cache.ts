import type { Clock } from '../../lib/clock.ts'
import { upstreamRequestHeaders } from './headers.ts'

export interface ModelEntry {
  id: string
  [field: string]: unknown
}

/** One upstream's last model list, or why it has none; kept on the upstream (upstreams.ts). */
export interface ModelListState {
  data: ModelEntry[] | null
  error: unknown
  /** Epoch ms of the last finished fetch; 0: never finished. */
  at: number
  /** The fetch under way, shared by every listing that waits for it. */
  inflight: Promise<void> | null
}

export function newModelListState(): ModelListState {
  return { data: null, error: null, at: 0, inflight: null }
}

interface Listable {
  name: string
  basePath: string
  pool: { request: import('undici').Pool['request'] }
  headers: Parameters<typeof upstreamRequestHeaders>[1]
  modelList: ModelListState
  config: { kind: 'openai' | 'anthropic' }
}

const NO_CLIENT_HEADERS = { get: () => null }

/**
 * Anthropic's list wants a version header (the listing has no client's to pass on) and
 * gives 20 models a page unless asked for more; 1,000 is its largest page.
 */
const ANTHROPIC_LISTING = {
  query: '?limit=1000',
  headers: { get: (name: string) => (name === 'anthropic-version' ? '2023-06-01' : null) },
}
const OPENAI_LISTING = { query: '', headers: NO_CLIENT_HEADERS }

/**
 * An upstream's model list through its cache. A fresh list (younger than `ttlMs`) is used
 * as it is; an older one (or the failure that replaced it: a stalled or failing upstream)
 * is used too, at once, while one fetch in the background refreshes it. Only an upstream
 * never listed yet is waited for, and only until `timeoutMs` or the `gone` signal. So an
 * upstream that stalls costs one listing its deadline, once per `ttlMs`; the others answer
 * from the cache, without it. With `ttlMs` 0 every listing fetches and waits.
 *
 * The fetch belongs to no client (one client's leaving would cut it short for the others):
 * it sends the upstream's key and configured headers only, and ends by its own deadline.
 */
export async function cachedModelList(
  upstream: Listable,
  clock: Clock,
  options: { ttlMs: number; timeoutMs: number },
  gone: Promise<void>,
): Promise<ModelListState> {
  const state = upstream.modelList
  const fresh = state.at > 0 && clock.now() - state.at < options.ttlMs
  if (fresh) return state
  state.inflight ??= refresh(upstream, clock, options.timeoutMs)
  if (state.at > 0 && options.ttlMs > 0) return state
  await Promise.race([state.inflight, gone])
  return state
}

async function refresh(upstream: Listable, clock: Clock, timeoutMs: number): Promise<void> {
  const { modelList: state } = upstream
  const listing = upstream.config.kind === 'anthropic' ? ANTHROPIC_LISTING : OPENAI_LISTING
  try {
    const response = await upstream.pool.request({
      method: 'GET',
      path: `${upstream.basePath}/models${listing.query}`,
      headers: upstreamRequestHeaders(listing.headers, upstream.headers),
      // One deadline for the whole fetch, body included: a list sent a byte at a time never
      // trips a per-read timeout. The abort reaches undici, which closes the socket.
      signal: AbortSignal.timeout(timeoutMs),
    })
    const text = await response.body.text()
    if (response.statusCode >= 400) throw new Error(`upstream answered ${response.statusCode}`)
    const data = (JSON.parse(text) as { data?: unknown }).data
    state.data = Array.isArray(data) ? (data as ModelEntry[]) : []
    state.error = null
  } catch (error) {
    state.data = null
    state.error = error
  } finally {
    state.at = clock.now()
    state.inflight = null
  }
}
