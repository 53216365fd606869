import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { tsImport } from 'tsx/esm/api'
import { type Config, configSchema } from './schema.ts'

/** Values that come from the environment only, never from the config file. */
export interface Secrets {
  jwtSecret?: string
  /** Upstream name -> API key sent upstream. */
  upstreamApiKeys: Record<string, string | undefined>
  /** Upstream name -> its pool of keys (upstreams[].apiKeyEnvs), each with the variable it came from. */
  upstreamKeyPools?: Record<string, Array<{ env: string; key: string }>>
  yookassaShopId?: string
  yookassaSecretKey?: string
  yookassaWebhookSecret?: string
  /** Bearer token that may read /metrics besides an admin (METRICS_TOKEN). */
  metricsToken?: string
  /** HMAC-SHA256 key of the outgoing webhooks' signature (NOTIFY_WEBHOOK_SECRET). */
  notifyWebhookSecret?: string
}

export interface LoadedConfig {
  config: Readonly<Config>
  secrets: Readonly<Secrets>
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>

/** Environment variable -> where it lands in the config, and how it is parsed. */
const ENV_OVERRIDES: Array<{ env: string; path: string[]; parse?: (raw: string) => unknown }> = [
  { env: 'PORT', path: ['server', 'port'], parse: toNumber },
  { env: 'HOST', path: ['server', 'host'] },
  { env: 'PUBLIC_URL', path: ['server', 'publicUrl'] },
  { env: 'TRUST_PROXY', path: ['server', 'trustProxy'], parse: toTrustProxy },
  { env: 'DATABASE_URL', path: ['database', 'url'] },
  { env: 'JWT_JWKS_URL', path: ['auth', 'jwksUrl'] },
  { env: 'JWT_ISSUER', path: ['auth', 'issuer'] },
  { env: 'JWT_AUDIENCE', path: ['auth', 'audience'] },
  { env: 'JWT_MAX_TOKEN_AGE_SECONDS', path: ['auth', 'maxTokenAgeSeconds'], parse: toNumber },
  { env: 'CORS_ORIGINS', path: ['cors', 'origins'], parse: toList },
  { env: 'DEFAULT_PLAN_ID', path: ['billing', 'defaultPlanId'] },
  { env: 'BILLING_RETURN_HOSTS', path: ['billing', 'returnHosts'], parse: toList },
  { env: 'YOOKASSA_API_URL', path: ['yookassa', 'apiUrl'] },
  { env: 'YOOKASSA_TRUSTED_IPS', path: ['yookassa', 'trustedIps'], parse: toList },
  {
    env: 'YOOKASSA_ALLOW_TEST_PAYMENTS',
    path: ['yookassa', 'allowTestPayments'],
    parse: toBoolean,
  },
  { env: 'NOTIFY_WEBHOOK_URL', path: ['notifications', 'webhookUrl'] },
  { env: 'LOG_LEVEL', path: ['logLevel'] },
  { env: 'LOG_FORMAT', path: ['logFormat'] },
  { env: 'REQUEST_LOG_LEVEL', path: ['requestLogLevel'] },
]

const DEFAULT_UPSTREAM_URL = 'https://api.openai.com/v1'

/**
 * Layers the environment over the config file's object, validates it and
 * returns it frozen. Pure: the caller reads the file and passes process.env.
 * A bad value fails with a message naming its key (and the variable it came from).
 */
export function loadConfig({ file = {}, env }: { file?: unknown; env: Env }): LoadedConfig {
  const raw = structuredClone((file ?? {}) as Record<string, unknown>)
  const origin = new Map<string, string>()

  for (const { env: name, path, parse } of ENV_OVERRIDES) {
    const value = env[name]
    if (value === undefined || value === '') continue
    setPath(raw, path, parse ? parse(value) : value)
    origin.set(path.join('.'), name)
  }
  applyDefaultUpstream(raw, env, origin)

  const result = configSchema.safeParse(raw)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.map(String).join('.') || '(root)'
      const from = origin.get(key) ?? origin.get(issue.path.slice(0, 2).map(String).join('.'))
      return `${key}${from ? ` (from ${from})` : ''}: ${issue.message}`
    })
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`)
  }

  const config = result.data
  const secrets: Secrets = {
    jwtSecret: nonEmpty(env.JWT_SECRET),
    upstreamApiKeys: Object.fromEntries(
      config.upstreams.map((u) => [
        u.name,
        nonEmpty(env[u.apiKeyEnv ?? 'UPSTREAM_API_KEY']) ??
          (u.name === 'default' ? nonEmpty(env.OPENAI_API_KEY) : undefined),
      ]),
    ),
    upstreamKeyPools: keyPools(config, env),
    yookassaShopId: nonEmpty(env.YOOKASSA_SHOP_ID),
    yookassaSecretKey: nonEmpty(env.YOOKASSA_SECRET_KEY),
    yookassaWebhookSecret: nonEmpty(env.YOOKASSA_WEBHOOK_SECRET),
    metricsToken: nonEmpty(env.METRICS_TOKEN),
    notifyWebhookSecret: nonEmpty(env.NOTIFY_WEBHOOK_SECRET),
  }
  // An unsigned webhook could be forged by anyone who learns the receiver's address.
  if (config.notifications.webhookUrl && !secrets.notifyWebhookSecret) {
    throw new ConfigError(
      'Invalid configuration: notifications.webhookUrl is set but NOTIFY_WEBHOOK_SECRET is not',
    )
  }
  return { config: deepFreeze(config), secrets: Object.freeze(secrets) }
}

/**
 * Imports gateway.config.ts (or .js) at run time, so an edited file needs a restart, never a
 * build. The compiled gateway is plain JavaScript: tsx compiles a TypeScript file for this one
 * import (scoped to it, not a loader for the whole process), under tsx and compiled alike.
 */
export async function readConfigFile(path: string): Promise<unknown> {
  const url = pathToFileURL(resolve(path)).href
  try {
    const module = (
      /\.[cm]?tsx?$/.test(path) ? await tsImport(url, import.meta.url) : await import(url)
    ) as { default?: unknown }
    return esModuleDefault(module.default) ?? {}
  } catch (error) {
    throw new ConfigError(`Cannot load config file ${path}: ${(error as Error).message}`)
  }
}

/**
 * A file outside a `"type": "module"` package (a config in /etc, a temp dir) is compiled to
 * CommonJS, and importing it yields `{ default: { __esModule, default: config } }`: the
 * config is that inner default, as a bundler (and tsx's process-wide loader) would read it.
 */
function esModuleDefault(value: unknown): unknown {
  const inner = value as { __esModule?: boolean; default?: unknown } | null | undefined
  return inner && typeof inner === 'object' && inner.__esModule ? inner.default : value
}

/** Each pooled key from its variable; a pool names only variables that are set, or the start fails. */
function keyPools(config: Config, env: Env): Secrets['upstreamKeyPools'] {
  const pools: NonNullable<Secrets['upstreamKeyPools']> = {}
  for (const upstream of config.upstreams) {
    if (!upstream.apiKeyEnvs) continue
    pools[upstream.name] = upstream.apiKeyEnvs.map((name) => {
      const key = nonEmpty(env[name])
      if (!key) throw new ConfigError(`upstreams.${upstream.name}.apiKeyEnvs: ${name} is not set`)
      return { env: name, key }
    })
  }
  return pools
}

/** UPSTREAM_BASE_URL replaces (or creates) the upstream named "default". */
function applyDefaultUpstream(raw: Record<string, unknown>, env: Env, origin: Map<string, string>) {
  const upstreams = Array.isArray(raw.upstreams) ? (raw.upstreams as Record<string, unknown>[]) : []
  const baseUrl = nonEmpty(env.UPSTREAM_BASE_URL)
  let index = upstreams.findIndex((u) => u?.name === 'default')
  if (index === -1 && (baseUrl || upstreams.length === 0)) {
    upstreams.push({
      name: 'default',
      baseUrl: DEFAULT_UPSTREAM_URL,
      apiKeyEnv: 'UPSTREAM_API_KEY',
    })
    index = upstreams.length - 1
  }
  if (baseUrl && index >= 0) {
    upstreams[index] = { ...upstreams[index], baseUrl }
    origin.set(`upstreams.${index}.baseUrl`, 'UPSTREAM_BASE_URL')
  }
  raw.upstreams = upstreams
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown) {
  let node = target
  for (const key of path.slice(0, -1)) {
    const next = node[key]
    node[key] = typeof next === 'object' && next !== null ? { ...next } : {}
    node = node[key] as Record<string, unknown>
  }
  node[path.at(-1)!] = value
}

function toNumber(raw: string): unknown {
  return /^\d+$/.test(raw.trim()) ? Number(raw) : raw
}

function toList(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
}

/** true/false (also 1/0, yes/no); anything else is left as text for the schema to refuse by name. */
function toBoolean(raw: string): unknown {
  const value = raw.trim().toLowerCase()
  if (value === 'true' || value === '1' || value === 'yes') return true
  if (value === 'false' || value === '0' || value === 'no') return false
  return raw
}

function toTrustProxy(raw: string): unknown {
  const value = raw.trim().toLowerCase()
  if (value === 'true') return true
  if (value === 'false' || value === '0') return false
  return toNumber(value)
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
