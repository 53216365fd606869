import { z } from 'zod'
import { parseFixed } from '../lib/fixed.ts'
import { packSeedSchema } from './pack.schema.ts'
import { type PlanSeedInput, planSeedSchema } from './plan.schema.ts'

/**
 * The operator's configuration, as gateway.config.ts writes it and the
 * environment overrides it. Secrets are not part of it: they come from the
 * environment only (see Secrets in load.ts), and a file that tries to carry
 * one fails validation as an unknown key.
 */
/**
 * Headers an operator may set or let through to an upstream: a token name, and never one that
 * carries credentials, cookies, the client's address or what undici computes (docs/access.md).
 */
const RESERVED_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'forwarded',
  'x-real-ip',
])
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]+$/, 'a header name (letters, digits, -)')
  .transform((name) => name.toLowerCase())
  .refine((name) => !RESERVED_HEADERS.has(name) && !name.startsWith('x-forwarded-'), {
    message: 'a header the gateway never forwards',
  })

const upstreamSchema = z.strictObject({
  name: z.string().min(1),
  /**
   * The API the upstream speaks: `openai` (chat, completions, embeddings, responses) or
   * `anthropic` (Messages: /v1/messages and count_tokens; its key goes as x-api-key, and the
   * client's anthropic-version and anthropic-beta pass through). docs/claude-code.md.
   */
  kind: z.enum(['openai', 'anthropic']).default('openai'),
  /** Base URL ending in /v1 (OpenAI-compatible, or Anthropic's https://api.anthropic.com/v1). */
  baseUrl: z.url(),
  /** Name of the environment variable holding this upstream's API key. */
  apiKeyEnv: z.string().min(1).optional(),
  /**
   * A pool of keys for this upstream: the names of the environment variables holding them
   * (each must be set). Requests spread over the keys; a key that fails rests alone
   * (docs/routing.md). Replaces apiKeyEnv when given.
   */
  apiKeyEnvs: z.array(z.string().min(1)).min(1).optional(),
  /** Model name patterns routed here (src/lib/glob.ts); the first match wins, then the default. */
  models: z.array(z.string().min(1)).default(['**']),
  connectTimeoutMs: z.number().int().positive().default(10_000),
  /** Time to the response headers: a long prompt can take a while before the first byte. */
  headersTimeoutMs: z.number().int().positive().default(300_000),
  /** Longest silence between two body chunks. */
  bodyTimeoutMs: z.number().int().positive().default(300_000),
  /**
   * Most sockets open to this upstream at once. LLM streams hold a socket for their whole
   * answer, so this bounds concurrent streams per upstream; past it, requests queue here.
   */
  connections: z.number().int().positive().default(1024),
  /** Headers sent on every request to this upstream (e.g. the operator's OpenAI-Organization). */
  headers: z.record(headerName, z.string().regex(/^[^\r\n\0]*$/, 'no line breaks')).default({}),
  /**
   * Client request headers passed on to this upstream (e.g. ['openai-beta']); none by default,
   * since OpenAI-Organization / OpenAI-Project choose what the operator's key bills.
   */
  forwardClientHeaders: z.array(headerName).default([]),
})

/** One place a model can be served: an upstream and the model name it is sent under there. */
const deploymentSchema = z.strictObject({
  /** The name of a configured upstream. */
  upstream: z.string().min(1),
  /** The model name sent to that upstream; the requested name when omitted. */
  model: z.string().min(1).optional(),
  /** Lower runs first: a higher priority is only tried when every lower one failed or rests. */
  priority: z.number().int().min(0).default(0),
  /** Share of the traffic among the deployments of one priority. */
  weight: z.number().int().positive().default(1),
})

/** A model name pattern (src/lib/glob.ts) and the deployments that serve it; the first match wins. */
const routeSchema = z.strictObject({
  model: z.string().min(1),
  deployments: z.array(deploymentSchema).min(1),
})

/** A decimal with at most `places` places (number or string), as an integer of 10^-places units. */
const fixed = (places: number, what: string) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const units = parseFixed(value, places)
    if (units === null || units <= 0) {
      ctx.addIssue({
        code: 'custom',
        message: `${what}: a positive decimal with at most ${places} places`,
      })
      return z.NEVER
    }
    return units
  })

/**
 * Weights of one model pattern: weighted tokens per token, e.g. {input: 16, output: 16} or
 * 0.125, and optionally per token class (docs/weights.md), each defaulting to its total's.
 */
const modelWeight = z
  .strictObject({
    input: fixed(3, 'weight'),
    output: fixed(3, 'weight'),
    cachedInput: fixed(3, 'weight').optional(),
    cacheWrite: fixed(3, 'weight').optional(),
    audioInput: fixed(3, 'weight').optional(),
    reasoning: fixed(3, 'weight').optional(),
    audioOutput: fixed(3, 'weight').optional(),
  })
  .transform((w) => ({
    inputMilli: w.input,
    outputMilli: w.output,
    cachedInputMilli: w.cachedInput ?? w.input,
    cacheWriteMilli: w.cacheWrite ?? w.input,
    audioInputMilli: w.audioInput ?? w.input,
    reasoningMilli: w.reasoning ?? w.output,
    audioOutputMilli: w.audioOutput ?? w.output,
  }))

/**
 * Upstream price of one model pattern: currency per 1,000,000 input / output tokens, e.g. "2.50",
 * and optionally per token class (docs/weights.md, "Prices per token class"), each defaulting to
 * its total's price, so a config without them costs what it cost before the classes.
 */
const modelPrice = z
  .strictObject({
    input: fixed(6, 'price'),
    output: fixed(6, 'price'),
    cachedInput: fixed(6, 'price').optional(),
    cacheWrite: fixed(6, 'price').optional(),
    audioInput: fixed(6, 'price').optional(),
    image: fixed(6, 'price').optional(),
    reasoning: fixed(6, 'price').optional(),
    audioOutput: fixed(6, 'price').optional(),
  })
  .transform((p) => ({
    inputMicros: p.input,
    outputMicros: p.output,
    cachedInputMicros: p.cachedInput ?? p.input,
    cacheWriteMicros: p.cacheWrite ?? p.input,
    audioInputMicros: p.audioInput ?? p.input,
    imageInputMicros: p.image ?? p.input,
    reasoningMicros: p.reasoning ?? p.output,
    audioOutputMicros: p.audioOutput ?? p.output,
  }))

/**
 * A plan seeded from the config file: checked here by the one plan schema
 * (plan.schema.ts, the shape of POST /api/v1/billing/plans) so a bad entry stops
 * the start with its field named, and kept as written (price "990.00"): the
 * sync turns it into kopecks with the same schema (billing/plans.sync.ts).
 */
const seedPlan = z.custom<PlanSeedInput>().superRefine((entry, ctx) => {
  const parsed = planSeedSchema.safeParse(entry)
  if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue })
})

const configFields = z.strictObject({
  server: z
    .strictObject({
      port: z.number().int().min(0).max(65535).default(3000),
      host: z.string().min(1).default('0.0.0.0'),
      /** Largest request body; long chat prompts with images are several MiB. */
      bodyLimitBytes: z
        .number()
        .int()
        .positive()
        .default(10 * 1024 * 1024),
      publicUrl: z.url().optional(),
      /** Take the client address from X-Forwarded-For: false, true (every hop) or a hop count. */
      trustProxy: z.union([z.boolean(), z.number().int().nonnegative()]).default(false),
      /** How long SIGTERM waits for in-flight requests before closing anyway. */
      shutdownGraceMs: z.number().int().nonnegative().default(30_000),
    })
    .prefault({}),
  database: z
    .strictObject({ url: z.string().min(1).default('sqlite:./data/gateway.db') })
    .prefault({}),
  auth: z
    .strictObject({
      jwksUrl: z.url().optional(),
      issuer: z.string().optional(),
      audience: z.string().optional(),
      /** How long a process trusts an API key lookup; a revocation elsewhere takes effect within it. */
      apiKeyCacheMs: z.number().int().nonnegative().default(5_000),
      /**
       * A JWT without `exp` is accepted only this long after its `iat` (30 days), and not at all
       * without `iat`; null or 0 refuses every token without `exp`. Open WebUI mints such tokens
       * when JWT_EXPIRES_IN is -1 (docs/security.md).
       */
      maxTokenAgeSeconds: z
        .number()
        .int()
        .nonnegative()
        .nullable()
        .default(30 * 86_400),
      /** Trusted service keys (created with `acts_for_users`) name the end user (docs/open-webui.md). */
      actAs: z
        .strictObject({
          /** Headers naming the end user, first present wins (Open WebUI's, by default). */
          userHeaders: z.array(z.string().min(1)).default(['x-openwebui-user-id']),
          /** Headers with the end user's email, recorded on first sight (receipts). */
          emailHeaders: z.array(z.string().min(1)).default(['x-openwebui-user-email']),
          /** Also take the end user from a proxied body's `user` field when no header names one. */
          bodyUserField: z.boolean().default(false),
        })
        .prefault({}),
    })
    .prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * `auto`: pretty, colored lines when stdout is a terminal, JSON lines otherwise (a pipe, a
   * file, a log collector); `json` and `pretty` force one. LOG_FORMAT overrides it.
   */
  logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /** The level of the one line per request: `debug` keeps them out of an `info` log (the demo). */
  requestLogLevel: z.enum(['info', 'debug']).default('info'),
  upstreams: z.array(upstreamSchema).default([]),
  /**
   * Models served by several deployments (docs/routing.md). A model no route matches goes to
   * the upstream whose `models` patterns match it, as one deployment.
   */
  routes: z.array(routeSchema).default([]),
  /** Trying the next deployment when one fails before the answer's first byte (docs/routing.md). */
  failover: z
    .strictObject({
      /** Most deployments (or keys) one request is sent to, the first included. */
      maxAttempts: z.number().int().positive().default(3),
      /** No new attempt starts this long after the first one did. */
      deadlineMs: z.number().int().positive().default(60_000),
      /** How long a key rests after a 5xx, a connect error or a timeout (doubling while it keeps failing). */
      cooldownMs: z.number().int().positive().default(5_000),
      /** The longest rest, whatever the upstream's retry-after says. */
      maxCooldownMs: z.number().int().positive().default(60_000),
      /** A key the upstream refused (401/403, the operator's insufficient_quota) is tried again after this. */
      recheckMs: z.number().int().positive().default(300_000),
    })
    .prefault({}),
  /** Browsers calling /v1 from other origins (docs/access.md, "Browsers"); none by default. */
  cors: z
    .strictObject({
      /** Origins allowed, exactly as the browser sends them (https://app.example.com), or '*'. */
      origins: z.array(z.string().min(1)).default([]),
      /** Let the browser send cookies and HTTP auth; never with '*'. */
      credentials: z.boolean().default(false),
      maxAgeSeconds: z.number().int().min(0).default(600),
    })
    .prefault({})
    .refine((cors) => !(cors.credentials && cors.origins.includes('*')), {
      message: "credentials are never allowed with the '*' origin",
    }),
  /** How long one upstream's model list is reused by GET /v1/models. */
  modelListCacheMs: z.number().int().min(0).default(60_000),
  /**
   * GET /v1/models asks every upstream for its list and waits this long in all, body included:
   * the answer is built from the lists that arrived, or 504 when none did (docs/security.md).
   */
  modelListTimeoutMs: z.number().int().positive().default(5_000),
  /** Plan feature -> model name patterns it grants (docs/reference/API.md, "Plan features grant models"). */
  features: z.record(z.string(), z.array(z.string().min(1))).default({}),
  /** Model name patterns every plan may use whatever its features (docs/access.md); none by default. */
  openModels: z.array(z.string().min(1)).default([]),
  /**
   * Hosted tools the upstream runs and bills beyond tokens, by tool type (`tools[].type` of
   * chat and Responses, date suffix dropped; chat `web_search_options` is `web_search`). A
   * request declaring one needs `feature` in its plan, else 403 tool_not_allowed; a type not
   * listed here (other than function and custom) is always refused. `surchargeTokens` is added
   * to the input reserved and billed, once per declared tool (docs/estimation.md).
   */
  hostedTools: z
    .record(
      z.string(),
      z.strictObject({
        feature: z.string().min(1),
        surchargeTokens: z.number().int().nonnegative().default(0),
      }),
    )
    .default({}),
  /** service_tier values other than auto and default, and the plan feature each needs (else 403). */
  serviceTiers: z.record(z.string(), z.string().min(1)).default({}),
  plans: z.array(seedPlan).default([]),
  /** Prepaid packs on sale next to the plans (pack.schema.ts; docs/quotas.md, "Prepaid packs"). */
  packs: z.array(packSeedSchema).default([]),
  /**
   * Model pattern -> weights (docs/weights.md): quotas count tokens x weight, ceil, in integers.
   * The first pattern in written order that matches wins (put `gpt-4o-mini*` before `gpt-4o*`);
   * unmatched models weigh 1. Empty (the default): quotas count raw tokens, as the seed does.
   */
  modelWeights: z.record(z.string().min(1), modelWeight).default({}),
  /** Model pattern -> upstream price per 1M tokens (first match wins): each request's cost. */
  modelPrices: z.record(z.string().min(1), modelPrice).default({}),
  /** The currency of modelPrices (the upstream's, e.g. USD); costs are stored in its micro-units. */
  priceCurrency: z.string().min(1).default('USD'),
  /**
   * The shop's currency (plans are sold in it): the margin report shows revenue, upstream cost
   * and margin in it, converting priceCurrency by an admin-set dated rate (the console's margin
   * page) or, on dates none covers, by exchangeRate (docs/weights.md, "Margin in the shop's currency").
   */
  shopCurrency: z.string().min(1).default('RUB'),
  /** Units of shopCurrency one unit of priceCurrency buys (e.g. "92.5"), up to 6 decimals; none: no fixed rate. */
  exchangeRate: fixed(6, 'exchangeRate').optional(),
  billing: z
    .strictObject({
      /** The initial default plan only: seeded into the database at the first start (billing/default-plan.ts). */
      defaultPlanId: z.string().min(1).default('free'),
      /** Hosts a payment's return_url may point to; empty means the host of server.publicUrl. */
      returnHosts: z.array(z.string().min(1)).default([]),
      /** Subscriptions and plan lookups are cached this long per process. */
      entitlementCacheMs: z.number().int().nonnegative().default(5_000),
      /** Headers whose value is stored as the usage record's chat id, first present wins. */
      chatIdHeaders: z.array(z.string().min(1)).default(['x-chat-id', 'x-openwebui-chat-id']),
      /**
       * Promo code attempts, right or wrong, a minute: per user, and per source address
       * (TRUST_PROXY decides what the address is). Past them a redemption is a 429.
       */
      promoAttemptsPerMinute: z.number().int().positive().default(10),
      promoAttemptsPerMinutePerAddress: z.number().int().positive().default(30),
    })
    .prefault({}),
  quota: z
    .strictObject({
      /** Output tokens reserved when a request names no max_tokens. */
      defaultOutputReserve: z.number().int().positive().default(4096),
      /** Upper bound of the output reservation, whatever max_tokens says. */
      maxOutputReserve: z.number().int().positive().default(32_768),
      /**
       * Last resort only: a reservation with no owner (written before migration 0002) older than
       * this is released by the sweeper. Reservations of live processes never expire by age.
       */
      reservationTtlSeconds: z.number().int().positive().default(900),
      /**
       * What a client that leaves after its request went upstream does to the upstream call
       * (docs/billing-integrity.md): `cancel` aborts it and bills the request, its input and the
       * output delivered; `drain` keeps reading, at most drainTimeoutMs, and bills the true usage.
       * Models matching `drainModels` always drain.
       */
      disconnectPolicy: z.enum(['cancel', 'drain']).default('cancel'),
      /** How long a drain reads after the client left; past it the output reserve is billed. */
      drainTimeoutMs: z.number().int().positive().default(30_000),
      /**
       * Models whose hidden output (reasoning tokens) only the upstream's usage can tell: a
       * disconnect drains them whatever disconnectPolicy says (`*` wildcards, case ignored).
       */
      drainModels: z.array(z.string().min(1)).default(['o1*', 'o3*', 'o4*', 'gpt-5*']),
      /** How often each process writes its heartbeat and sweeps dead processes' reservations. */
      heartbeatIntervalMs: z.number().int().positive().default(5_000),
      /**
       * A process whose heartbeat is older than this is dead: its reservations are settled
       * (sent) or released (never sent). 3 heartbeats, plus room for clock skew between hosts.
       */
      ownerDeadAfterSeconds: z.number().int().positive().default(15),
      /** Usage above this many tokens per request is absurd and is not credited. */
      maxTokensPerRequest: z.number().int().positive().default(10_000_000),
      /**
       * Input tokens reserved (and billed when the upstream gives no usage) for each context
       * the gateway cannot see: previous_response_id, conversation, a stored prompt, a file id
       * or URL, an item_reference, an assistant message's audio id. A plan whose tokens_input limit cannot hold it answers 400 (docs/estimation.md).
       */
      unknownContextTokens: z.number().int().nonnegative().default(32_000),
      /**
       * What admits output tokens. `settled`: a request is admitted while the user's settled
       * output (`used`) is under the limit, so parallel requests are not starved by each other's
       * reservations; the overshoot is bounded by max_concurrent_requests (docs/quotas.md).
       * `reserved`: used + reserved must be under the limit and the reservation is capped at
       * what remains (one answer at a time can take the rest).
       */
      outputAdmission: z.enum(['settled', 'reserved']).default('settled'),
      /**
       * max_concurrent_requests of a plan that sets none. Settled output admission lets the
       * answers in flight together pass the output limit by up to this many times one answer
       * (docs/quotas.md), so the default is a bound, never unlimited; null (unlimited) must be
       * asked for.
       */
      defaultMaxConcurrentRequests: z.number().int().positive().nullable().default(8),
      /**
       * The most answers one request may ask for: chat's and completions' `n`, completions'
       * `best_of`, and one per prompt of a completions prompt list, multiplied. Each answer
       * can produce up to max_tokens, so this bounds one request's output (docs/quotas.md);
       * more is a 400 naming the parameter.
       */
      maxAnswersPerRequest: z.number().int().positive().default(8),
    })
    .prefault({}),
  yookassa: z
    .strictObject({
      apiUrl: z.url().default('https://api.yookassa.ru/v3'),
      /** Comma-separated CIDRs allowed to send notifications (YooKassa's published ranges). */
      trustedIps: z
        .array(z.string().min(1))
        .default([
          '185.71.76.0/27',
          '185.71.77.0/27',
          '77.75.153.0/25',
          '77.75.156.11/32',
          '77.75.156.35/32',
          '77.75.154.128/25',
          '2a02:5180::/32',
        ]),
      requestTimeoutMs: z.number().int().positive().default(10_000),
      /**
       * Credit payments YooKassa marks `test: true`. Unset: the shop decides (GET /me `test`),
       * so a test shop's payments are credited and a live shop refuses them; true or false
       * (also YOOKASSA_ALLOW_TEST_PAYMENTS) overrides.
       */
      allowTestPayments: z.boolean().optional(),
      /** Ask YooKassa to save the card and renew automatically before the period ends. */
      autoRenew: z.boolean().default(false),
      renewBeforeSeconds: z.number().int().nonnegative().default(86_400),
      /** After a failed renewal the subscription stays past_due this long, then falls back. */
      graceSeconds: z
        .number()
        .int()
        .nonnegative()
        .default(3 * 86_400),
      /** A payment still pending after this is re-read from YooKassa by the reconciliation job. */
      reconcileAfterSeconds: z.number().int().nonnegative().default(300),
      /** A pending payment older than this is expired locally (confirmation links live ~1 h). */
      expirePendingAfterSeconds: z.number().int().positive().default(86_400),
      /** Stored notifications older than this are deleted by the prune-webhook-events job. */
      webhookEventRetentionDays: z.number().int().positive().default(90),
      /** Notifications accepted per source address per minute (a burst of as many); more: 429. */
      webhookRatePerMinute: z.number().int().positive().default(60),
      /**
       * Refused notifications (sender, secret, size) stored per hour by one process, all senders
       * together (a burst of as many); past it they are refused all the same, counted, not stored.
       */
      webhookRejectedStoredPerHour: z.number().int().nonnegative().default(60),
      receipt: z
        .strictObject({
          enabled: z.boolean().default(false),
          /** 54-FZ VAT code: 1 no VAT ... 11 = 22 % (base rate from 2026). */
          vatCode: z.number().int().min(1).max(12).default(1),
        })
        .prefault({}),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /**
       * Model label values of /metrics: a model is labelled with the most specific of these
       * patterns it matches, else `other`. Unset: every pattern of `features`. Labels never take
       * a name from the request, so series stay bounded.
       */
      modelLabels: z.array(z.string().min(1)).optional(),
    })
    .prefault({}),
  /** The pages (/billing, /admin): how browsers sign in. */
  web: z
    .strictObject({
      /** Cookie holding the host application's JWT (Open WebUI keeps it in `token`). */
      jwtCookie: z.string().min(1).default('token'),
      /** A browser session lasts this long after sign-in (7 days), then signs in again. */
      sessionTtlSeconds: z
        .number()
        .int()
        .positive()
        .default(7 * 86_400),
      /** A one-time sign-in link is usable this long (15 minutes) after it was minted. */
      signInLinkTtlSeconds: z.number().int().positive().default(900),
    })
    .prefault({}),
  usage: z
    .strictObject({
      /**
       * Raw billing_usage rows (three per request, about 630 bytes on SQLite) are kept this many
       * whole UTC days, then pruned by the jobs: the daily rollup keeps the history (docs/usage-history.md).
       * At least 1: a swept request's late settle reads its rows within minutes.
       */
      retentionDays: z.number().int().min(1).default(90),
    })
    .prefault({}),
  /**
   * Objects the upstream keeps in the operator's account (a Responses answer, its items, a chat
   * answer's audio, a container), shared by every user of the upstream key (docs/security.md).
   */
  storedObjects: z
    .strictObject({
      /**
       * `forward`: `store` goes as the client sent it (the Responses API stores by default, 30
       * days, readable by the operator). `off`: Responses and chat requests go with store: false
       * and a request asking store: true is refused (400); previous_response_id then has nothing
       * to continue from.
       */
      store: z.enum(['forward', 'off']).default('forward'),
      /**
       * An id the gateway never handed out (made in the operator's account directly, or before
       * the gateway bound ids): `refuse` answers 404 as for another user's id; `forward` lets it
       * through. Another user's id is refused either way.
       */
      unseenIds: z.enum(['refuse', 'forward']).default('refuse'),
      /** Bindings are kept this long (the upstream forgets stored responses after 30 days). */
      retentionDays: z.number().int().min(1).default(30),
    })
    .prefault({}),
  /**
   * Outgoing webhooks (docs/quotas.md, "Soft limits"): soft-limit warnings for the host
   * application to tell its users, and the operator's alerts (failed renewals, refunds,
   * upstream failures). Off while webhookUrl is unset; the signing secret comes from the
   * environment only (NOTIFY_WEBHOOK_SECRET).
   */
  notifications: z
    .strictObject({
      webhookUrl: z.url().optional(),
      /** Percentages of a quota at which the user is told, once per period per metric. */
      softLimitPercents: z.array(z.number().int().min(1).max(100)).default([80, 100]),
      /** A delivery is tried this many times in all, then kept as failed. */
      maxAttempts: z.number().int().positive().default(8),
      /** The wait before the second try; it doubles each try, up to backoffMaxSeconds. */
      backoffBaseSeconds: z.number().int().positive().default(30),
      backoffMaxSeconds: z.number().int().positive().default(3600),
      /** One delivery's whole time (connect, headers, body). */
      timeoutMs: z.number().int().positive().default(10_000),
    })
    .prefault({}),
  jobs: z
    .strictObject({
      /** How often the background jobs (sweep, reconcile, renew, rollover, prune) run. */
      intervalMs: z.number().int().positive().default(60_000),
      enabled: z.boolean().default(true),
    })
    .prefault({}),
})

/** The fields, and what only the whole can check: every route names a configured upstream. */
export const configSchema = configFields.superRefine((config, ctx) => {
  const names = new Set(config.upstreams.map((u) => u.name))
  for (const [r, route] of config.routes.entries())
    for (const [d, deployment] of route.deployments.entries())
      if (!names.has(deployment.upstream))
        ctx.addIssue({
          code: 'custom',
          path: ['routes', r, 'deployments', d, 'upstream'],
          message: `no upstream is named ${deployment.upstream}`,
        })
})

export type GatewayConfigInput = z.input<typeof configSchema>
export type Config = z.output<typeof configSchema>
export type UpstreamConfig = z.output<typeof upstreamSchema>
