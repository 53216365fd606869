/**
 * The OpenAPI 3.1 description of the public contract (API.md), served at
 * /openapi.json and rendered at /docs. Kept next to the routes it describes;
 * a test checks that every route the app serves is listed here.
 */
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: object) => ({ content: { 'application/json': { schema } } })
const error = (description: string) => ({ description, ...json(ref('Error')) })
const bearer = [{ bearer: [] }]
const money = { type: 'string', pattern: '^\\d+\\.\\d{2}$', examples: ['990.00'] }

const STANDARD_ERRORS = {
  '400': error('Invalid request: the message names each bad field'),
  '401': error('Missing or invalid credentials'),
}

function op(
  summary: string,
  responses: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return { summary, security: bearer, responses: { ...STANDARD_ERRORS, ...responses }, ...extra }
}

const body = (schema: object) => ({ requestBody: { required: true, ...json(schema) } })
const open = { security: [] }

const metricParam = {
  name: 'metric',
  in: 'path',
  required: true,
  schema: { type: 'string', enum: ['tokens_input', 'tokens_output', 'requests'] },
}
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } }

export const OPENAPI_PATHS: Record<string, Record<string, unknown>> = {
  '/v1/chat/completions': {
    post: op('OpenAI Chat Completions, stream and non-stream, within the plan quota', {
      '200': { description: 'The upstream answer, untouched (JSON or text/event-stream)' },
      '402': error('No usable plan (no_subscription)'),
      '403': error('Model not in the plan (model_not_allowed)'),
      '429': error('Quota exceeded (insufficient_quota); Retry-After = seconds to period end'),
      '502': error('Upstream failed'),
      '504': error('Upstream timed out'),
    }),
  },
  '/v1/completions': {
    post: op('OpenAI Completions', { '200': { description: 'Upstream answer' } }),
  },
  '/v1/embeddings': {
    post: op('OpenAI Embeddings', { '200': { description: 'Upstream answer' } }),
  },
  '/v1/responses': { post: op('OpenAI Responses', { '200': { description: 'Upstream answer' } }) },
  '/v1/models/{model}': {
    get: op(
      'One model, if the plan allows it',
      { '200': { description: 'OpenAI model object' }, '404': error('Unknown or not in the plan') },
      { parameters: [{ name: 'model', in: 'path', required: true, schema: { type: 'string' } }] },
    ),
  },
  '/v1/models': {
    get: op('Models the plan allows', { '200': { description: 'OpenAI model list' } }),
  },
  '/api/v1/billing/plans': {
    get: {
      ...op('Active plans by display_order', {
        '200': json({ type: 'array', items: ref('Plan') }),
      }),
      ...open,
    },
    post: op(
      'Create a plan (admin)',
      { '201': json(ref('Plan')), '403': error('Not an admin'), '409': error('Id taken') },
      body(ref('PlanInput')),
    ),
  },
  '/api/v1/billing/plans/{id}': {
    patch: op(
      'Change a plan (admin)',
      { '200': json(ref('Plan')), '404': error('No such plan') },
      { parameters: [idParam], ...body(ref('PlanInput')) },
    ),
    delete: op(
      'Delete a plan; a plan in use is deactivated instead (admin)',
      { '204': { description: 'Deleted or deactivated' } },
      { parameters: [idParam] },
    ),
  },
  '/api/v1/billing/subscription': {
    get: op("The caller's subscription with its plan", {
      '200': json(ref('Subscription')),
      '404': error('None'),
    }),
  },
  '/api/v1/billing/subscription/cancel': {
    post: op(
      'Cancel now or at period end',
      { '200': json(ref('Subscription')) },
      body({ type: 'object', properties: { immediate: { type: 'boolean' } } }),
    ),
  },
  '/api/v1/billing/payment': {
    post: op(
      'Start a YooKassa payment for a plan',
      {
        '201': json(ref('PaymentStarted')),
        '404': error('No such plan'),
        '503': error('Billing not configured'),
      },
      body({
        type: 'object',
        required: ['plan_id', 'return_url'],
        properties: { plan_id: { type: 'string' }, return_url: { type: 'string', format: 'uri' } },
      }),
    ),
  },
  '/api/v1/billing/usage/{metric}': {
    get: op(
      'Usage of one metric in the current period',
      { '200': json(ref('Usage')) },
      { parameters: [metricParam] },
    ),
  },
  '/api/v1/billing/usage/check': {
    post: op(
      'Would this amount fit? Reserves nothing',
      { '200': json(ref('UsageCheck')) },
      body({
        type: 'object',
        required: ['metric', 'amount'],
        properties: { metric: { type: 'string' }, amount: { type: 'integer', minimum: 0 } },
      }),
    ),
  },
  '/api/v1/billing/me': {
    get: op('User, subscription, plan and usage in one', { '200': json({ type: 'object' }) }),
  },
  '/api/v1/billing/transactions': {
    get: op("The caller's transactions, newest first (cursor pagination)", {
      '200': json({
        type: 'object',
        properties: {
          data: { type: 'array', items: ref('Transaction') },
          next_cursor: { type: ['string', 'null'] },
        },
      }),
    }),
  },
  '/api/v1/billing/webhook/yookassa': {
    post: {
      ...op('YooKassa notification (trusted source address, optional secret, re-read with GET)', {
        '200': { description: 'Recorded or deliberately ignored' },
        '403': error('Source address not trusted'),
        '500': error('Transient failure: YooKassa delivers it again'),
      }),
      ...open,
    },
  },
  '/api/v1/billing/admin/subscriptions': {
    post: op(
      'Grant a plan to a user for N periods (admin)',
      {
        '201': json(ref('Subscription')),
        '403': error('Not an admin'),
        '404': error('No such plan'),
      },
      body({
        type: 'object',
        required: ['user_id', 'plan_id'],
        properties: {
          user_id: { type: 'string' },
          plan_id: { type: 'string' },
          periods: { type: 'integer', minimum: 1, maximum: 1200 },
        },
      }),
    ),
    get: op(
      "Users' subscriptions with their current usage, newest first (admin)",
      { '200': json({ type: 'object' }), '403': error('Not an admin') },
      {
        parameters: ['user_id', 'limit', 'cursor'].map((name) => ({
          name,
          in: 'query',
          required: false,
          schema: { type: name === 'limit' ? 'integer' : 'string' },
        })),
      },
    ),
  },
  '/api/v1/billing/admin/transactions/{id}/refund': {
    post: op(
      'Refund a payment fully or partly through YooKassa (admin)',
      {
        '201': json({
          type: 'object',
          properties: { refund: ref('Transaction'), payment: ref('Transaction') },
        }),
        '403': error('Not an admin'),
        '404': error('No such transaction'),
        '409': error('A refund is already pending'),
      },
      {
        parameters: [idParam],
        ...body({ type: 'object', properties: { amount: money } }),
      },
    ),
  },
  '/api/v1/billing/admin/margin': {
    get: op(
      'Requests, raw and weighted tokens, upstream cost and earnings over [from, to) per user, plan or model; CSV with format=csv (admin)',
      {
        '200': json({ type: 'object' }),
        '400': error('Bad period or grouping'),
        '403': error('Not an admin'),
      },
      {
        parameters: ['from', 'to', 'group_by', 'format'].map((name) => ({
          name,
          in: 'query',
          required: name === 'from' || name === 'to',
          schema: { type: name === 'from' || name === 'to' ? 'integer' : 'string' },
        })),
      },
    ),
  },
  '/api/v1/keys': {
    get: op("The caller's API keys (no key material)", { '200': json({ type: 'object' }) }),
    post: op(
      'Create an API key; the key is shown once',
      { '201': json({ type: 'object' }) },
      body({
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string' },
          admin: { type: 'boolean', description: 'admins only: an admin credential' },
          acts_for_users: { type: 'boolean', description: 'admins only: a trusted service key' },
          expires_at: { type: 'integer', description: 'epoch seconds' },
          expires_in_days: { type: 'integer', minimum: 1, maximum: 3650 },
        },
      }),
    ),
  },
  '/api/v1/keys/{id}': {
    delete: op(
      'Revoke an API key',
      { '204': { description: 'Revoked' }, '404': error('No such key') },
      { parameters: [idParam] },
    ),
  },
  '/healthz': {
    get: { summary: 'Process up', security: [], responses: { '200': { description: 'ok' } } },
  },
  '/readyz': {
    get: {
      summary: 'Database reachable, migrations applied',
      security: [],
      responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus metrics (Bearer METRICS_TOKEN or an admin credential)',
      responses: {
        '200': { description: 'text/plain exposition' },
        '401': { description: 'No or a wrong token' },
        '403': { description: 'Not an admin' },
      },
    },
  },
}

const quotas = {
  type: 'object',
  properties: {
    ...Object.fromEntries(
      ['tokens_input', 'tokens_output', 'requests'].map((m) => [
        m,
        { type: ['integer', 'null'], minimum: 0 },
      ]),
    ),
    max_concurrent_requests: {
      type: ['integer', 'null'],
      minimum: 1,
      description: "In-flight requests per user; null unlimited, absent the gateway's default",
    },
  },
}

const SCHEMAS = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        properties: {
          message: { type: 'string' },
          type: { type: 'string' },
          code: { type: 'string' },
          param: { type: ['string', 'null'] },
        },
      },
    },
  },
  PlanInput: {
    type: 'object',
    required: ['name', 'price'],
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      name_ru: { type: ['string', 'null'] },
      description: { type: ['string', 'null'] },
      description_ru: { type: ['string', 'null'] },
      price: { type: ['number', 'string'], description: '>= 0, at most two decimals' },
      currency: { type: 'string', examples: ['RUB'] },
      interval: { type: 'string', enum: ['day', 'week', 'month', 'year'] },
      quotas,
      features: { type: 'array', items: { type: 'string' } },
      is_active: { type: 'boolean' },
      display_order: { type: 'integer' },
    },
  },
  Plan: {
    allOf: [
      ref('PlanInput'),
      {
        type: 'object',
        properties: { created_at: { type: 'integer' }, updated_at: { type: 'integer' } },
      },
    ],
  },
  Subscription: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      user_id: { type: 'string' },
      plan_id: { type: 'string' },
      status: { type: 'string', enum: ['active', 'past_due', 'canceled', 'expired'] },
      current_period_start: { type: 'integer' },
      current_period_end: { type: 'integer' },
      cancel_at_period_end: { type: 'boolean' },
      auto_renew: { type: 'boolean' },
      plan: ref('Plan'),
    },
  },
  Transaction: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      user_id: { type: 'string' },
      plan_id: { type: ['string', 'null'] },
      kind: { type: 'string', enum: ['payment', 'renewal', 'refund'] },
      amount: money,
      currency: { type: 'string' },
      status: {
        type: 'string',
        enum: ['pending', 'waiting_for_capture', 'succeeded', 'canceled', 'refunded'],
      },
      provider_payment_id: { type: ['string', 'null'] },
      description: { type: ['string', 'null'] },
      created_at: { type: 'integer' },
      updated_at: { type: 'integer' },
    },
  },
  PaymentStarted: {
    type: 'object',
    properties: {
      transaction_id: { type: 'string' },
      payment_id: { type: 'string' },
      status: { type: 'string' },
      confirmation_url: { type: 'string' },
      amount: money,
      currency: { type: 'string' },
      plan_id: { type: 'string' },
    },
  },
  Usage: {
    type: 'object',
    properties: Object.fromEntries(
      ['metric', 'used', 'reserved', 'limit', 'remaining', 'period_start', 'period_end'].map(
        (k) => [k, {}],
      ),
    ),
  },
  UsageCheck: {
    type: 'object',
    properties: Object.fromEntries(
      ['allowed', 'metric', 'amount', 'used', 'limit', 'remaining'].map((k) => [k, {}]),
    ),
  },
}

export function openApiDocument(serverUrl?: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'LLM quota gateway',
      version: '0.1.0',
      description: 'OpenAI-compatible proxy with plan quotas, and the billing API (YooKassa).',
    },
    servers: serverUrl ? [{ url: serverUrl }] : [],
    security: bearer,
    paths: OPENAPI_PATHS,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A user JWT or a gateway API key (sk-...)',
        },
      },
      schemas: SCHEMAS,
    },
  }
}
