import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ErrorBody } from '../../src/http/errors.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

/**
 * What a request may ask of the upstream beyond tokens. Refusals happen before
 * anything is reserved or sent; a granted hosted tool is billed its configured
 * surcharge on top of the upstream's count.
 */
let f: ProxyFixture
const SURCHARGE = 4_000
beforeAll(async () => {
  f = await startProxyFixture({
    plan: { quotas: { requests: 1000, tokens_input: 1_000_000, tokens_output: 1_000_000 } },
    config: {
      hostedTools: {
        web_search: { feature: 'web_search_access', surchargeTokens: SURCHARGE },
        file_search: { feature: 'file_search_access', surchargeTokens: 1_000 },
      },
      serviceTiers: { priority: 'priority_access', flex: 'flex_access' },
      // The made-up ids below (resp_123, conv_1, file-1) were never handed out by the gateway:
      // let them through to the estimate (stored-objects.test.ts covers their refusal).
      storedObjects: { unseenIds: 'forward' },
      // A second plan, granted web search and priority, for the users named "granted-*".
      plans: [
        {
          id: 'test',
          name: 'Test',
          price: 0,
          quotas: { requests: 1000, tokens_input: 1_000_000, tokens_output: 1_000_000 },
          features: ['gpt4_access'],
        },
        {
          id: 'search',
          name: 'Search',
          price: 0,
          quotas: { requests: 1000, tokens_input: 1_000_000, tokens_output: 1_000_000 },
          features: ['gpt4_access', 'web_search_access', 'priority_access'],
        },
        {
          id: 'small',
          name: 'Small',
          price: 0,
          quotas: { requests: 1000, tokens_input: 2_000, tokens_output: 1_000_000 },
          features: ['gpt4_access'],
        },
      ],
    },
  })
})
afterAll(async () => {
  await f?.close()
})

const nothing = { requests: 0, tokens_input: 0, tokens_output: 0 }
const CHAT = '/v1/chat/completions'
const RESPONSES = '/v1/responses'
const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
})

async function onPlan(userId: string, planId: string) {
  await f.h.db
    .updateTable('billing_subscription')
    .set({ plan_id: planId })
    .where('user_id', '=', userId)
    .execute()
  f.h.deps.entitlements.invalidate(userId)
}

/** A refusal: its status and error, after checking nothing went upstream and nothing is held. */
async function refused(userId: string, path: string, body: unknown) {
  const before = f.upstream.requests.length
  const response = await f.fetch(userId, path, { method: 'POST', json: body })
  const { error } = (await response.json()) as ErrorBody
  expect(f.upstream.requests.length, 'nothing was sent upstream').toBe(before)
  const ledger = await f.ledger(userId)
  expect(ledger.used, JSON.stringify(ledger)).toEqual(nothing)
  expect(ledger.reserved).toEqual(nothing)
  expect(ledger.reservations).toBe(0)
  return { status: response.status, error }
}

describe('background responses', () => {
  it('background: true is a 400 naming the parameter; nothing is sent or reserved', async () => {
    const result = await refused('bg-user', RESPONSES, {
      model: 'gpt-4o',
      input: 'hi',
      background: true,
    })
    expect(result).toMatchObject({
      status: 400,
      error: { code: 'invalid_request', param: 'background' },
    })
    expect(result.error.message).toMatch(/background/)
  })

  it('background: false goes through', async () => {
    const response = await f.fetch('bg-false', RESPONSES, {
      method: 'POST',
      json: { model: 'gpt-4o', input: 'hi', background: false },
    })
    expect(response.status, await response.text()).toBe(200)
  })
})

describe('hosted tools', () => {
  it.each([
    [
      'Responses web_search',
      RESPONSES,
      { model: 'gpt-4o', input: 'hi', tools: [{ type: 'web_search' }] },
      'tools[0].type',
    ],
    [
      'a dated web_search_preview',
      RESPONSES,
      {
        model: 'gpt-4o',
        input: 'hi',
        tools: [{ type: 'function', name: 'f' }, { type: 'web_search_preview_2025_03_11' }],
      },
      'tools[1].type',
    ],
    [
      'file_search',
      RESPONSES,
      {
        model: 'gpt-4o',
        input: 'hi',
        tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }],
      },
      'tools[0].type',
    ],
    [
      'code_interpreter',
      RESPONSES,
      {
        model: 'gpt-4o',
        input: 'hi',
        tools: [{ type: 'code_interpreter', container: { type: 'auto' } }],
      },
      'tools[0].type',
    ],
    [
      'image_generation',
      RESPONSES,
      { model: 'gpt-4o', input: 'hi', tools: [{ type: 'image_generation' }] },
      'tools[0].type',
    ],
    [
      'computer_use_preview',
      RESPONSES,
      { model: 'gpt-4o', input: 'hi', tools: [{ type: 'computer_use_preview' }] },
      'tools[0].type',
    ],
    [
      'mcp',
      RESPONSES,
      { model: 'gpt-4o', input: 'hi', tools: [{ type: 'mcp', server_url: 'https://x' }] },
      'tools[0].type',
    ],
    ['chat web_search_options', CHAT, chat({ web_search_options: {} }), 'web_search_options'],
  ])(
    '%s without the feature is a 403 tool_not_allowed; nothing sent or reserved',
    async (name, path, body, param) => {
      const result = await refused(`tool-${name.replace(/\W+/g, '-')}`, path, body)
      expect(result).toMatchObject({
        status: 403,
        error: { code: 'tool_not_allowed', type: 'permission_error', param },
      })
    },
  )

  it('function tools need no feature', async () => {
    const response = await f.fetch('tool-fn', CHAT, {
      method: 'POST',
      json: chat({
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      }),
    })
    expect(response.status, await response.text()).toBe(200)
  })

  it('with the feature, the tool is allowed and its surcharge is billed on top of the upstream count', async () => {
    await f.fetch('granted-search', '/v1/models') // creates the subscription on the default plan
    await onPlan('granted-search', 'search')
    f.upstream.once({ usage: { input: 120, output: 9 } })
    const response = await f.fetch('granted-search', RESPONSES, {
      method: 'POST',
      json: { model: 'gpt-4o', input: 'news today?', tools: [{ type: 'web_search' }] },
    })
    expect(response.status, await response.text()).toBe(200)
    expect(f.upstream.requests.at(-1)?.body?.tools).toEqual([{ type: 'web_search' }])
    const ledger = await f.settled('granted-search')
    expect(ledger.used).toEqual({ requests: 1, tokens_input: 120 + SURCHARGE, tokens_output: 9 })

    // Chat's web_search_options is the same tool, with the same surcharge; so is it when the answer has no usage.
    f.upstream.once({ omitUsage: true })
    const second = await f.fetch('granted-search', CHAT, {
      method: 'POST',
      json: chat({ web_search_options: {} }),
    })
    expect(second.status, await second.text()).toBe(200)
    const after = await f.settled('granted-search')
    expect(after.used.tokens_input - ledger.used.tokens_input).toBeGreaterThan(SURCHARGE)
    expect(after.reserved).toEqual(nothing)
  })
})

describe('service_tier', () => {
  it.each(['priority', 'flex', 'scale'])(
    '%s without the feature is a 403 service_tier_not_allowed',
    async (tier) => {
      const result = await refused(`tier-${tier}`, CHAT, chat({ service_tier: tier }))
      expect(result).toMatchObject({
        status: 403,
        error: { code: 'service_tier_not_allowed', param: 'service_tier' },
      })
    },
  )

  it('auto and default need nothing; a granted tier goes through', async () => {
    for (const tier of ['auto', 'default', null]) {
      const response = await f.fetch('tier-default', CHAT, {
        method: 'POST',
        json: chat({ service_tier: tier }),
      })
      expect(response.status, await response.text()).toBe(200)
    }
    await f.fetch('granted-tier', '/v1/models')
    await onPlan('granted-tier', 'search')
    const response = await f.fetch('granted-tier', CHAT, {
      method: 'POST',
      json: chat({ service_tier: 'priority' }),
    })
    expect(response.status, await response.text()).toBe(200)
  })
})

describe('context the gateway cannot see', () => {
  it('previous_response_id reserves quota.unknownContextTokens (32,000 by default) on top of the prompt', async () => {
    f.upstream.once({ hang: true })
    const pending = f.fetch('ctx-user', RESPONSES, {
      method: 'POST',
      json: { model: 'gpt-4o', input: 'and then?', previous_response_id: 'resp_123' },
      signal: AbortSignal.timeout(1_500),
    })
    // While the request is in flight, its reservation holds the unknown context's tokens.
    let reserved = 0
    for (let i = 0; i < 100 && reserved === 0; i++) {
      reserved = (await f.ledger('ctx-user')).reserved.tokens_input
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(reserved).toBeGreaterThan(32_000)
    expect(reserved).toBeLessThan(32_050)
    await pending.catch(() => {})
    f.upstream.reset()
  })

  it('a plan whose whole tokens_input cannot hold that reserve answers 400 naming the parameter', async () => {
    await f.fetch('ctx-small', '/v1/models')
    await onPlan('ctx-small', 'small')
    for (const [param, body] of [
      ['previous_response_id', { model: 'gpt-4o', input: 'hi', previous_response_id: 'resp_1' }],
      ['conversation', { model: 'gpt-4o', input: 'hi', conversation: 'conv_1' }],
      ['prompt', { model: 'gpt-4o', prompt: { id: 'pmpt_1' } }],
      [
        'file_id',
        {
          model: 'gpt-4o',
          input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }],
        },
      ],
    ] as const) {
      const result = await refused('ctx-small', RESPONSES, body)
      expect(result, param).toMatchObject({
        status: 400,
        error: { code: 'invalid_request', param },
      })
    }
    // Without it, the same plan serves the request.
    const response = await f.fetch('ctx-small', RESPONSES, {
      method: 'POST',
      json: { model: 'gpt-4o', input: 'hi' },
    })
    expect(response.status, await response.text()).toBe(200)
  })
})
