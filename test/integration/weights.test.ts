import { afterEach, describe, expect, it } from 'vitest'
import { estimateInputTokens } from '../../src/pipeline/estimate/estimate.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { perMetric } from '../helpers/usage-rows.ts'

/** Model weights (docs/weights.md): quotas count tokens x weight; usage rows keep both. */
let f: ProxyFixture | undefined
let other: Harness | undefined
afterEach(async () => {
  await other?.close()
  await f?.close()
  f = undefined
  other = undefined
})

const WEIGHTS = {
  'gpt-4o-mini*': { input: 1, output: 1 },
  'gpt-4o*': { input: 16, output: 16 },
  'o3*': { input: '0.125', output: 52 },
}
const hi = { role: 'user' as const, content: 'hi' }

async function usageRows(fixture: ProxyFixture, userId: string) {
  // The proxy answers before its settle lands (src/pipeline/settle/settle.ts): read after it.
  await fixture.h.deps.pendingSettles.idle(5_000)
  const rows = perMetric(
    await fixture.h.db
      .selectFrom('billing_usage')
      .selectAll()
      .where('user_id', '=', userId)
      .execute(),
  )
    .filter((r) => r.metric !== 'requests')
    .sort((a, b) => a.created_at - b.created_at)
  return rows.map((r) => ({
    model: r.model_id,
    metric: r.metric,
    amount: Number(r.amount),
    raw: r.raw_amount === null ? null : Number(r.raw_amount),
    request: r.request_id,
  }))
}

describe('model weights', () => {
  it("with weights 1 and 16, a Pro user's 100 tokens of each model count 100 and 1,600; the rows keep both", async () => {
    f = await startProxyFixture({
      plan: { quotas: { requests: 100, tokens_input: 1_000_000, tokens_output: 500_000 } },
      config: { modelWeights: WEIGHTS },
    })
    f.upstream.behave({ usage: { input: 100, output: 100 } })
    const sent = []
    for (const model of ['gpt-4o-mini', 'gpt-4o']) {
      const response = await f.fetch('pro-user', '/v1/chat/completions', {
        method: 'POST',
        json: { model, messages: [hi], max_tokens: 200 },
      })
      expect(response.status, await response.clone().text()).toBe(200)
      sent.push(response)
    }
    const ledger = await f.ledger('pro-user')
    expect(ledger.used).toEqual({ requests: 2, tokens_input: 1_700, tokens_output: 1_700 })
    expect(ledger.reserved).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
    const rows = (await usageRows(f, 'pro-user')).map(({ request: _, ...row }) => row)
    expect(rows).toEqual([
      { model: 'gpt-4o-mini', metric: 'tokens_input', amount: 100, raw: 100 },
      { model: 'gpt-4o-mini', metric: 'tokens_output', amount: 100, raw: 100 },
      { model: 'gpt-4o', metric: 'tokens_input', amount: 1_600, raw: 100 },
      { model: 'gpt-4o', metric: 'tokens_output', amount: 1_600, raw: 100 },
    ])
    // The headers count in the same unit as the counters.
    expect(sent[1]!.headers.get('x-quota-remaining-tokens-input')).toBe(String(1_000_000 - 1_700))

    const token = await f.token('pro-user')
    const usage = await (
      await f.h.json('GET', '/api/v1/billing/usage/tokens_input', undefined, token)
    ).json()
    expect(usage).toMatchObject({ unit: 'weighted_tokens', used: 1_700, remaining: 998_300 })
    const me = (await (await f.h.json('GET', '/api/v1/billing/me', undefined, token)).json()) as {
      usage: Record<string, { unit: string }>
    }
    expect(me.usage.tokens_output!.unit).toBe('weighted_tokens')
    expect(me.usage.requests!.unit).toBe('requests')
  })

  it('fractional weights count exact thousandths, rounded up (7 tokens at 0.125 count 1)', async () => {
    f = await startProxyFixture({ config: { modelWeights: WEIGHTS } })
    f.upstream.setModels(['o3-mini'])
    f.upstream.behave({ usage: { input: 7, output: 3 } })
    const response = await f.fetch('frac-user', '/v1/chat/completions', {
      method: 'POST',
      json: { model: 'o3-mini', messages: [hi], max_tokens: 10 },
    })
    expect(response.status, await response.clone().text()).toBe(200)
    const rows = (await usageRows(f, 'frac-user')).map(({ amount, raw }) => ({ amount, raw }))
    expect(rows).toEqual([
      { amount: 1, raw: 7 },
      { amount: 156, raw: 3 },
    ])
  })

  it('a burst across the two models admits exactly what the weighted quota allows', async () => {
    const body = (model: string) => ({ model, messages: [hi], max_tokens: 5 })
    const e = estimateInputTokens('chat', 'gpt-4o', body('gpt-4o'))
    expect(estimateInputTokens('chat', 'gpt-4o-mini', body('gpt-4o-mini'))).toBe(e)
    // Room for 2 x 16e + 5 x e: in any arrival order exactly 2 gpt-4o and 5 gpt-4o-mini fit.
    f = await startProxyFixture({
      plan: { quotas: { requests: null, tokens_input: 37 * e, tokens_output: null } },
      config: { modelWeights: WEIGHTS },
    })
    f.upstream.behave({ latencyMs: 300, usage: { input: e, output: 1 } })
    const models = ['gpt-4o', 'gpt-4o-mini', 'gpt-4o', 'gpt-4o-mini', 'gpt-4o']
    models.push('gpt-4o-mini', 'gpt-4o', 'gpt-4o-mini', 'gpt-4o-mini')
    const answers = await Promise.all(
      models.map((model) =>
        f!.fetch('burst-user', '/v1/chat/completions', { method: 'POST', json: body(model) }),
      ),
    )
    const admitted = models.filter((_, i) => answers[i]!.status === 200)
    const statuses = answers.map((a) => a.status)
    expect(admitted.filter((m) => m === 'gpt-4o').length, JSON.stringify(statuses)).toBe(2)
    expect(admitted.filter((m) => m === 'gpt-4o-mini').length, JSON.stringify(statuses)).toBe(5)
    expect(statuses.filter((s) => s === 429).length).toBe(2)
    expect(f.upstream.requestsTo('/v1/chat/completions').length).toBe(7)
    const ledger = await f.settled('burst-user')
    expect(ledger.used.tokens_input).toBe(37 * e)
  })

  it('a weight change applies to new requests only: settled rows and in-flight settles keep the old weights', async () => {
    f = await startProxyFixture({ config: { modelWeights: WEIGHTS } })
    f.upstream.behave({ usage: { input: 100, output: 10 } })
    const first = await f.fetch('change-user', '/v1/chat/completions', {
      method: 'POST',
      json: { model: 'gpt-4o', messages: [hi], max_tokens: 50 },
    })
    expect(first.status).toBe(200)

    // A request admitted at weight 16, held upstream while a second app with weight 2 starts.
    let letGo = () => {}
    const held = new Promise<void>((resolve) => {
      letGo = resolve
    })
    f.upstream.behave({ usage: { input: 100, output: 10 }, beforeChunk: () => held })
    const client = await f.client('change-user', { maxRetries: 0 })
    const inFlight = client.chat.completions.create({
      model: 'gpt-4o',
      messages: [hi],
      max_tokens: 50,
      stream: true,
    })
    const stream = await inFlight
    other = await createHarness({
      shareDatabaseWith: f.h,
      config: {
        plans: [],
        billing: { defaultPlanId: 'test' },
        modelWeights: { 'gpt-4o*': { input: 2, output: 2 } },
      },
      env: { UPSTREAM_BASE_URL: f.upstream.url, UPSTREAM_API_KEY: 'sk-x' },
    })
    const token = await f.token('change-user')
    const late = await other.request('/v1/chat/completions', {
      method: 'POST',
      headers: { ...other.auth(token), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [hi], max_tokens: 50 }),
    })
    expect(late.status, await late.clone().text()).toBe(200)
    letGo()
    for await (const _ of stream) {
      // drained: the in-flight request settles now, after the second app's request
    }
    const ledger = await f.settled('change-user')
    const rows = await usageRows(f, 'change-user')
    const byRequest = [...new Set(rows.map((r) => r.request))].map((id) =>
      rows.filter((r) => r.request === id).map(({ amount, raw }) => [amount, raw]),
    )
    expect(byRequest).toEqual(
      expect.arrayContaining([
        [
          [1_600, 100],
          [160, 10],
        ],
        [
          [200, 100],
          [20, 10],
        ],
      ]),
    )
    // Two requests at weight 16 (the settled one and the one in flight) and one at weight 2.
    expect(ledger.used.tokens_input).toBe(1_600 + 1_600 + 200)
    expect(ledger.used.tokens_output).toBe(160 + 160 + 20)
  })

  it("/v1/models shows each granted model's weights in x_gateway", async () => {
    f = await startProxyFixture({ config: { modelWeights: WEIGHTS } })
    f.upstream.setModels(['gpt-4o-mini', 'gpt-4o', 'o3-mini', 'gpt-3.5-turbo'])
    const response = await f.fetch('models-user', '/v1/models')
    const body = (await response.json()) as { data: Array<{ id: string; x_gateway?: unknown }> }
    const weights = Object.fromEntries(body.data.map((m) => [m.id, m.x_gateway]))
    expect(weights).toEqual({
      'gpt-4o-mini': { weights: { input: 1, output: 1 }, unit: 'weighted_tokens' },
      'gpt-4o': { weights: { input: 16, output: 16 }, unit: 'weighted_tokens' },
      'o3-mini': { weights: { input: 0.125, output: 52 }, unit: 'weighted_tokens' },
      'gpt-3.5-turbo': { weights: { input: 1, output: 1 }, unit: 'weighted_tokens' },
    })
  })
})
