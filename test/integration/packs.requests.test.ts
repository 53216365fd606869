import { describe, expect, it } from 'vitest'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { audit } from '../reliability/audit.ts'

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

function gate() {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

async function send(user: string, stream = false) {
  return fetch(`${f.base}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await f.h.token({ sub: user })}`,
    },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 5,
      stream,
    }),
  })
}

async function chat(user: string) {
  const res = await send(user)
  const text = await res.text()
  await f.h.deps.pendingSettles.idle(5_000)
  return { status: res.status, text }
}

async function buyPack(user: string) {
  const token = await f.h.token({ sub: user })
  const res = await f.h.json(
    'POST',
    '/api/v1/billing/payment',
    { pack_id: 'req10', return_url: 'https://app.example/r' },
    token,
  )
  const body = (await res.json()) as Record<string, string>
  expect(res.status, JSON.stringify(body)).toBe(201)
  f.fake.pay(body.payment_id!)
  const note = await f.deliver('payment.succeeded', body.payment_id!)
  expect(note.status, note.body).toBe(200)
}

async function me(user: string) {
  const res = await f.h.request('/api/v1/billing/me', {
    headers: f.h.auth(await f.h.token({ sub: user })),
  })
  const body = (await res.json()) as {
    usage: Record<string, { used: number }>
    packs: { balance: Record<string, number> }
  }
  expect(res.status, JSON.stringify(body)).toBe(200)
  return body
}

async function auditHolds() {
  await f.h.deps.pendingSettles.idle(5_000)
  const report = await audit(f.h.db)
  expect(report.violations).toEqual([])
}

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
