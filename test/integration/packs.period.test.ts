import { describe, expect, it } from 'vitest'
import { gate, packCalls } from '../helpers/packs.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'

// A pack pays only its own metric: the request's other metrics, its place in flight and
// the plan's rate windows are the period's, as for any request (docs/quotas.md).
// The plan's 1 input token is spent by any request; a pack sells 10,000 more.
const f = usePaymentsFixture({
  upstream: true,
  config: {
    plans: [
      {
        id: 'free',
        name: 'Free',
        price: 0,
        quotas: {
          requests: 100,
          tokens_input: 1,
          tokens_output: null,
          max_concurrent_requests: 1,
          requests_per_minute: 2,
        },
        features: ['gpt4o_mini_access'],
      },
    ],
    packs: [
      {
        id: 'in10k',
        name: '10k input tokens',
        metric: 'tokens_input',
        amount: 10_000,
        price: '100.00',
        validity_days: 30,
      },
    ],
  },
})

const { send, chat, buyPack, me, auditHolds } = packCalls(f, 'in10k')

describe('a pack-funded request pays the period for everything but its pack metric', () => {
  it('counts its requests and output tokens against the period, its input against the pack', async () => {
    await buyPack('p1')
    const answer = await chat('p1')
    expect(answer.status, answer.text).toBe(200)
    const after = await me('p1')
    expect(after.usage.requests?.used).toBe(1)
    expect(after.usage.tokens_output?.used).toBeGreaterThan(0)
    expect(after.usage.tokens_input?.used).toBe(0)
    expect(after.packs.balance.tokens_input).toBeLessThan(10_000)
    await auditHolds()
  })

  it('with max_concurrent_requests 1, a second pack-funded request in flight is refused for concurrency', async () => {
    await buyPack('p2')
    const held = gate()
    f.upstream!.once({ beforeChunk: (i) => (i === 0 ? held.opened : undefined) })
    const first = await send('p2', true)
    expect(first.status).toBe(200)
    const second = await chat('p2')
    expect(second.status, second.text).toBe(429)
    expect(JSON.parse(second.text)).toMatchObject({
      error: { param: 'max_concurrent_requests' },
    })
    held.open()
    expect(await first.text()).toContain('[DONE]')
    await auditHolds()
  })

  it("counts pack-funded requests in the plan's requests_per_minute window", async () => {
    await buyPack('p3')
    expect((await chat('p3')).status).toBe(200)
    expect((await chat('p3')).status).toBe(200)
    const third = await chat('p3')
    expect(third.status, third.text).toBe(429)
    expect(JSON.parse(third.text)).toMatchObject({ error: { param: 'requests_per_minute' } })
    await auditHolds()
  })
})
