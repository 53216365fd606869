import { describe, expect, it } from 'vitest'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'

const f = usePaymentsFixture({
  config: {
    yookassa: { receipt: { enabled: true, vatCode: 1 } },
    packs: [
      {
        id: 'out5k',
        name: '5,000 output tokens',
        metric: 'tokens_output',
        amount: 5_000,
        price: '49.90',
      },
    ],
  },
})

describe('a pack payment with receipts (54-FZ) on', () => {
  it('sends one receipt item, the pack, for the whole amount, and saves no card', async () => {
    const pay = async (claims: { email?: string }) =>
      f.h.json(
        'POST',
        '/api/v1/billing/payment',
        { pack_id: 'out5k', return_url: 'https://app.example/r' },
        await f.h.token({ sub: 'r1', ...claims }),
      )
    const noEmail = await pay({})
    expect(noEmail.status, await noEmail.clone().text()).toBe(400)
    const res = await pay({ email: 'r1@example.com' })
    expect(res.status, await res.clone().text()).toBe(201)
    const sent = f.fake.requestsTo('POST', /^\/payments$/)
    expect(sent).toHaveLength(1)
    expect(sent[0]?.body?.save_payment_method).toBeUndefined()
    expect(sent[0]?.body?.receipt).toEqual({
      customer: { email: 'r1@example.com' },
      items: [
        {
          description: '5,000 output tokens',
          quantity: 1,
          amount: { value: '49.90', currency: 'RUB' },
          vat_code: 1,
          payment_subject: 'service',
          payment_mode: 'full_payment',
        },
      ],
    })
  })
})
