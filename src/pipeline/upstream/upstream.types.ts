import type { Pool } from 'undici'
import type { UpstreamConfig } from '../../config/schema.ts'
import type { UpstreamHeaderPolicy } from './headers.ts'
import type { KeyHealth } from './key-health.ts'
import type { ModelListState } from './model-list-cache.ts'

/** One key of an upstream's pool, with its own health (key-health.ts). */
export interface UpstreamKey {
  upstream: Upstream
  /** What metrics and logs call it: the environment variable it came from, never the key. */
  label: string
  /** `upstream/label`, unique: the key of its metrics series. */
  id: string
  /** The metrics labels of its series, built once (the request path counts on every attempt). */
  labels: { upstream: string; key: string }
  /** `Bearer <key>`; undefined when the upstream needs no key. Never logged. */
  authorization: string | undefined
  headers: UpstreamHeaderPolicy
  health: KeyHealth
}

/** One configured upstream (OpenAI-compatible or Anthropic) and the connection pool that reaches it. */
export interface Upstream {
  name: string
  pool: Pool
  /** The base URL's path without its trailing slash ("/v1"): endpoint paths are appended to it. */
  basePath: string
  /** `Bearer <key>`, built once; undefined when the upstream needs no key. Never logged. */
  authorization: string | undefined
  /** What this upstream is sent besides the body (headers.ts): its key, fixed headers, allowed client ones. */
  headers: UpstreamHeaderPolicy
  config: UpstreamConfig
  /** The pool: one key, or upstreams[].apiKeyEnvs (the first is `authorization` above). */
  keys: UpstreamKey[]
  /** Its last model list, for GET /v1/models (model-list-cache.ts). */
  modelList: ModelListState
}
