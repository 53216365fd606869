import { describe, expect, it } from 'vitest'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'

/** POST /subscription/resume: a cancel at period end taken back while the paid time runs. */
describe('resume after cancel at period end', () => {
  const f = usePaymentsFixture()
  const call = async (path: string, body?: unknown) => {
    const res = await f.h.json('POST', path, body, await f.h.token({ sub: 'u1' }))
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  it('resumes a canceled-at-end subscription; nothing to resume is a 400 that changes nothing', async () => {
    await f.creditedCheckout('u1')
    const early = await call('/api/v1/billing/subscription/resume')
    expect(early.status, JSON.stringify(early.body)).toBe(400)

    const canceled = await call('/api/v1/billing/subscription/cancel', { immediate: false })
    expect(canceled.body).toMatchObject({ cancel_at_period_end: true, auto_renew: false })
    const resumed = await call('/api/v1/billing/subscription/resume')
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200)
    // auto_renew stays off: this gateway does not renew (yookassa.autoRenew is false).
    expect(resumed.body).toMatchObject({
      plan_id: 'pro',
      status: 'active',
      cancel_at_period_end: false,
      auto_renew: false,
    })
  })

  it('after the paid time ended there is nothing to resume', async () => {
    await f.creditedCheckout('u1')
    await call('/api/v1/billing/subscription/cancel', { immediate: false })
    f.h.clock.advance(40 * 86_400_000)
    f.h.deps.entitlements.invalidate()
    const late = await call('/api/v1/billing/subscription/resume')
    expect(late.status, JSON.stringify(late.body)).toBe(400)
  })
})
