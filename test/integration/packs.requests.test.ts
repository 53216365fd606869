import { describe, expect, it } from 'vitest'
import { gate, packCalls } from '../helpers/packs.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'

// A pack of requests lifts the period's requests quota for the request it funds, not its
// place in flight: max_concurrent_requests bounds pack-funded requests too (docs/quotas.md).
// The plan's one request a period is spent by the first call; a pack sells 10 more.
const f = usePaymentsFixture({
  upstream: true,
  config: {
    plans: [
      {
        id: 'free',
        name: 'Free',
        price: 0,
        quotas: {
          requests: 1,
          tokens_input: null,
          tokens_output: null,
          max_concurrent_requests: 1,
        },
        features: ['gpt4o_mini_access'],
      },
    ],
    packs: [
      {
        id: 'req10',
        name: '10 requests',
        metric: 'requests',
        amount: 10,
        price: '100.00',
        validity_days: 30,
      },
    ],
  },
})

const { send, chat, buyPack, me, auditHolds } = packCalls(f, 'req10')

describe('a pack of requests', () => {
  it('funds requests past the period quota, one in flight at a time, counting none on the period', async () => {
    await buyPack('r1')
    expect((await chat('r1')).status).toBe(200) // the period's one request
    const held = gate()
    f.upstream!.once({ beforeChunk: (i) => (i === 0 ? held.opened : undefined) })
    const first = await send('r1', true)
    expect(first.status).toBe(200)
    const second = await chat('r1')
    expect(second.status, second.text).toBe(429)
    expect(JSON.parse(second.text)).toMatchObject({ error: { param: 'max_concurrent_requests' } })
    held.open()
    expect(await first.text()).toContain('[DONE]')
    await f.h.deps.pendingSettles.idle(5_000)
    expect((await chat('r1')).status).toBe(200)
    const after = await me('r1')
    expect(after.usage.requests?.used).toBe(1)
    expect(after.packs.balance.requests).toBe(8)
    await auditHolds()
  })
})
