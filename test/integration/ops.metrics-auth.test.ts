import { afterEach, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

const METRICS_TOKEN = 'metrics-scrape-token-0123456789'

async function scrape(h: Harness, authorization?: string) {
  const res = await h.request('/metrics', {
    headers: authorization ? { authorization } : {},
  })
  return { status: res.status, text: await res.text() }
}

describe('/metrics needs METRICS_TOKEN or an admin', () => {
  let h: Harness
  afterEach(async () => {
    await h?.close()
  })

  it('401 without or with a wrong token, 403 for a user, 200 for the token and an admin', async () => {
    h = await createHarness({ env: { METRICS_TOKEN } })
    for (const header of [undefined, 'Bearer nope', `Bearer ${METRICS_TOKEN}x`, METRICS_TOKEN]) {
      const res = await scrape(h, header)
      expect(res.status, `${header}: ${res.text}`).toBe(401)
      expect(res.text).not.toContain('gateway_http_requests_total')
    }
    const user = await scrape(h, `Bearer ${await h.token({ sub: 'alice' })}`)
    expect(user.status, user.text).toBe(403)

    const byToken = await scrape(h, `Bearer ${METRICS_TOKEN}`)
    expect(byToken.status, byToken.text).toBe(200)
    expect(byToken.text).toContain('gateway_http_requests_total')
    const byAdmin = await scrape(h, `Bearer ${await h.adminToken()}`)
    expect(byAdmin.status, byAdmin.text).toBe(200)
  })

  it('without METRICS_TOKEN set, only an admin reads it (an empty bearer is no match)', async () => {
    h = await createHarness()
    expect((await scrape(h)).status).toBe(401)
    expect((await scrape(h, 'Bearer ')).status).toBe(401)
    expect((await scrape(h, `Bearer ${await h.adminToken()}`)).status).toBe(200)
  })
})

describe('model labels come from the configuration, never from the request', () => {
  let f: ProxyFixture
  afterEach(async () => {
    await f?.close()
  })

  async function chat(model: string) {
    const res = await f.fetch('u1', '/v1/chat/completions', {
      method: 'POST',
      json: { model, messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(res.status, await res.text()).toBe(200)
  }

  it('an explicit metrics.modelLabels list; anything else is `other`', async () => {
    f = await startProxyFixture({
      // A plan that may use any model, so the label is the only thing under test.
      plan: { features: ['everything'] },
      config: {
        features: { everything: ['*'] },
        metrics: { modelLabels: ['gpt-4o', 'gpt-4o-mini'] },
      },
      harness: { env: { METRICS_TOKEN } },
    })
    await chat('gpt-4o')
    await chat('GPT-4o-mini')
    await chat('made-up-model-1')
    await chat('made-up-model-2')
    const res = await scrape(f.h, `Bearer ${METRICS_TOKEN}`)
    expect(res.status, res.text).toBe(200)
    const series = res.text.split('\n').filter((l) => l.startsWith('gateway_tokens_total{'))
    expect(series.sort(), res.text).toEqual(
      [
        'gateway_tokens_total{metric="tokens_input",model="gpt-4o"} 12',
        'gateway_tokens_total{metric="tokens_output",model="gpt-4o"} 7',
        'gateway_tokens_total{metric="tokens_input",model="gpt-4o-mini"} 12',
        'gateway_tokens_total{metric="tokens_output",model="gpt-4o-mini"} 7',
        'gateway_tokens_total{metric="tokens_input",model="other"} 24',
        'gateway_tokens_total{metric="tokens_output",model="other"} 14',
      ].sort(),
    )
    expect(res.text).not.toContain('made-up-model')
  })

  it("without a list, the most specific of the features' patterns", async () => {
    f = await startProxyFixture({
      plan: { features: ['everything', 'gpt4_access'] },
      config: { features: { everything: ['*'], gpt4_access: ['gpt-4*'] } },
    })
    await chat('gpt-4o-2024-08-06')
    await chat('made-up-model-1')
    const text = await f.h.deps.metrics.registry.getSingleMetricAsString('gateway_tokens_total')
    expect(text).toContain('gateway_tokens_total{metric="tokens_input",model="gpt-4*"} 12')
    expect(text).toContain('gateway_tokens_total{metric="tokens_input",model="*"} 12')
    expect(text).not.toContain('gpt-4o-2024-08-06')
  })
})
