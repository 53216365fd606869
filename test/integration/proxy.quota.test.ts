import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import type { ErrorBody } from '../../src/http/errors.ts'
import { nowSeconds } from '../../src/lib/clock.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

/** Admission: quotas refuse before anything goes upstream, with the 429 of docs/reference/API.md. */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

const nothingReserved = { requests: 0, tokens_input: 0, tokens_output: 0 }

async function periodEnd(fixture: ProxyFixture, userId: string) {
  const sub = await fixture.h.db
    .selectFrom('billing_subscription')
    .select('current_period_end')
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow()
  return Number(sub.current_period_end)
}

describe('quota admission', () => {
  it('a burst against k remaining requests: exactly k reach the upstream, the rest get one 429 each and no retry', async () => {
    const k = 3
    f = await startProxyFixture({
      plan: { quotas: { requests: k, tokens_input: null, tokens_output: null } },
    })
    f.upstream.behave({ latencyMs: 50 }) // keep the admitted calls in flight while the others arrive
    const client = await f.client('burst-user') // default maxRetries (2): a retryable 429 would be retried
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      ),
    )
    const ok = results.filter((r) => r.status === 'fulfilled')
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
    expect(ok.length, JSON.stringify(results.map((r) => r.status))).toBe(k)
    expect(f.upstream.requestsTo('/v1/chat/completions').length).toBe(k)

    const retryAfter = String((await periodEnd(f, 'burst-user')) - nowSeconds(f.h.clock))
    for (const error of refused) {
      expect(error, String(error)).toBeInstanceOf(OpenAI.RateLimitError)
      const e = error as InstanceType<typeof OpenAI.RateLimitError>
      expect(e.status).toBe(429)
      expect(e.error, JSON.stringify(e.error)).toMatchObject({
        type: 'insufficient_quota',
        code: 'insufficient_quota',
        param: 'requests',
      })
      expect(e.headers.get('retry-after')).toBe(retryAfter)
      expect(e.headers.get('x-should-retry')).toBe('false')
      expect(e.headers.get('x-request-id')).toBeTruthy()
    }
    // One attempt per call: 10 requests reached the gateway, not 10 + 7 x 2 retries.
    const answered = f.h.logs.filter(
      (l) => l.msg === 'request' && l.route === '/v1/chat/completions',
    )
    expect(answered.length, JSON.stringify(answered.map((l) => l.status))).toBe(10)
    const ledger = await f.ledger('burst-user')
    expect(ledger.used.requests).toBe(k)
    expect(ledger.reserved).toEqual(nothingReserved)
  })

  it('a prompt whose estimate exceeds the remaining tokens_input is refused before the upstream is called', async () => {
    f = await startProxyFixture({
      plan: { quotas: { requests: 100, tokens_input: 50, tokens_output: 1000 } },
    })
    const response = await f.fetch('long-prompt-user', '/v1/chat/completions', {
      method: 'POST',
      json: {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'lorem ipsum dolor sit amet '.repeat(40) }],
      },
    })
    const body = (await response.json()) as ErrorBody
    expect(response.status, JSON.stringify(body)).toBe(429)
    expect(body.error).toMatchObject({
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      param: 'tokens_input',
    })
    expect(body.error.message).toMatch(/^Quota exceeded for tokens_input: /)
    expect(response.headers.get('x-should-retry')).toBe('false')
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(f.upstream.requests.length).toBe(0)
    const ledger = await f.ledger('long-prompt-user')
    expect(ledger.used).toEqual(nothingReserved)
    expect(ledger.reserved).toEqual(nothingReserved)

    // A short prompt still fits.
    const small = await f.fetch('long-prompt-user', '/v1/chat/completions', {
      method: 'POST',
      json: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(small.status, await small.clone().text()).toBe(200)
  })

  it('tokens_output is capped at what remains and refused only when nothing remains ("reserved" admission)', async () => {
    f = await startProxyFixture({
      plan: { quotas: { requests: 100, tokens_input: 10_000, tokens_output: 100 } },
      config: { quota: { outputAdmission: 'reserved' } },
    })
    f.upstream.once({ usage: { input: 10, output: 120 } }) // an answer may overshoot the cap by itself
    const ask = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 5000,
    }
    const first = await f.fetch('output-user', '/v1/chat/completions', {
      method: 'POST',
      json: ask,
    })
    expect(first.status, await first.clone().text()).toBe(200)
    expect(first.headers.get('x-quota-remaining-tokens-output')).toBe('0')
    expect((await f.ledger('output-user')).used.tokens_output).toBe(120)

    const second = await f.fetch('output-user', '/v1/chat/completions', {
      method: 'POST',
      json: ask,
    })
    const body = (await second.json()) as ErrorBody
    expect(second.status, JSON.stringify(body)).toBe(429)
    expect(body.error.param).toBe('tokens_output')
    expect(f.upstream.requests.length).toBe(1)
  })

  it('answers carry the remaining quota and the period reset', async () => {
    f = await startProxyFixture({
      plan: { quotas: { requests: 10, tokens_input: 1000, tokens_output: null } },
    })
    f.upstream.once({ usage: { input: 12, output: 7 } })
    const response = await f.fetch('headers-user', '/v1/chat/completions', {
      method: 'POST',
      json: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(response.status, await response.clone().text()).toBe(200)
    expect(response.headers.get('x-quota-remaining-requests')).toBe('9')
    expect(response.headers.get('x-quota-remaining-tokens-input')).toBe('988')
    expect(response.headers.get('x-quota-remaining-tokens-output')).toBeNull() // unlimited
    expect(response.headers.get('x-quota-reset')).toBe(String(await periodEnd(f, 'headers-user')))
    expect(response.headers.get('x-request-id')).toBeTruthy()
  })
})

describe('plans and models', () => {
  it('402 no_subscription for a user with no usable plan; nothing goes upstream', async () => {
    f = await startProxyFixture({ config: { billing: { defaultPlanId: 'no-such-plan' } } })
    const client = await f.client('planless-user', { maxRetries: 0 })
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(error, String(error)).toBeInstanceOf(OpenAI.APIError)
    const e = error as InstanceType<typeof OpenAI.APIError>
    expect(e.status).toBe(402)
    expect(e.error).toMatchObject({ code: 'no_subscription' })
    expect(f.upstream.requests.length).toBe(0)
    expect((await f.ledger('planless-user')).reservations).toBe(0)
  })

  it('403 model_not_allowed for a model outside the plan, before anything is reserved; unmatched models too', async () => {
    f = await startProxyFixture({ plan: { features: ['gpt35_access'] } })
    const client = await f.client('gated-user', { maxRetries: 0 })
    const error = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(error, String(error)).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      code: 'model_not_allowed',
      param: 'model',
    })
    expect(f.upstream.requests.length).toBe(0)
    let ledger = await f.ledger('gated-user')
    expect(ledger.used).toEqual(nothingReserved)
    expect(ledger.reserved).toEqual(nothingReserved)

    const allowed = await client.chat.completions.create({
      model: 'gpt-3.5-turbo',
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(allowed.choices.length).toBe(1)
    // No feature maps llama-3: granted to no plan, not open to all.
    const unmapped = await client.chat.completions
      .create({ model: 'llama-3', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(unmapped, String(unmapped)).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect(f.upstream.requests.length).toBe(1)
    ledger = await f.ledger('gated-user')
    expect(ledger.used.requests).toBe(1)
    expect(ledger.reserved).toEqual(nothingReserved)
  })
})
