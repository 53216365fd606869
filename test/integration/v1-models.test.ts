import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import type { ErrorBody } from '../../src/http/errors.ts'
import { type ProxyFixture, startProxyFixture, UPSTREAM_KEY } from '../helpers/proxy-fixture.ts'

/** GET /v1/models: the upstream's list, filtered to what the user's plan allows; never billed. */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

describe('GET /v1/models', () => {
  it("lists only the models the plan's features grant (an unmapped model is no plan's)", async () => {
    f = await startProxyFixture({ plan: { features: ['gpt35_access'] } })
    f.upstream.setModels([
      'gpt-4o',
      'gpt-4o-mini',
      'gpt-3.5-turbo',
      'o3-mini',
      'claude-3-opus',
      'llama-3',
    ])
    const client = await f.client('models-user', { maxRetries: 0 })
    const ids = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids).toEqual(['gpt-3.5-turbo'])
    expect(f.upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`)

    const one = await client.models.retrieve('gpt-3.5-turbo')
    expect(one.id).toBe('gpt-3.5-turbo')
    const hidden = await client.models.retrieve('gpt-4o').catch((e: unknown) => e)
    expect(hidden, String(hidden)).toBeInstanceOf(OpenAI.NotFoundError)

    const ledger = await f.ledger('models-user')
    expect(ledger.used).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
  })

  it('a wider plan sees more', async () => {
    f = await startProxyFixture({ plan: { features: ['gpt4_access', 'claude_access'] } })
    f.upstream.setModels(['gpt-4o', 'gpt-3.5-turbo', 'o3-mini', 'claude-3-opus'])
    const response = await f.fetch('wide-user', '/v1/models')
    const body = (await response.json()) as { data: Array<{ id: string }> }
    expect(response.status, JSON.stringify(body)).toBe(200)
    expect(body.data.map((m) => m.id)).toEqual(['gpt-4o', 'o3-mini', 'claude-3-opus'])
  })

  it('402 without a plan, 502 when the upstream cannot list', async () => {
    f = await startProxyFixture({ config: { billing: { defaultPlanId: 'none' } } })
    const planless = await f.fetch('planless', '/v1/models')
    expect(planless.status, await planless.clone().text()).toBe(402)
    await f.close()

    f = await startProxyFixture()
    f.upstream.once({ status: 500 })
    const down = await f.fetch('u', '/v1/models')
    const body = (await down.json()) as ErrorBody
    expect(down.status, JSON.stringify(body)).toBe(502)
    expect(body.error.code).toBe('upstream_error')
  })

  it('401 without a token', async () => {
    f = await startProxyFixture()
    const response = await fetch(`${f.base}/v1/models`)
    expect(response.status).toBe(401)
    expect(f.upstream.requests.length).toBe(0)
  })
})
