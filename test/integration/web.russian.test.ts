import { describe, expect, it } from 'vitest'
import fileConfig from '../../gateway.config.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { signInWeb, textOf } from '../helpers/web-session.ts'

/** Every string of the pages in Russian: validation messages and the interval options too. */
describe(`pages in Russian (${TEST_DIALECT})`, () => {
  // The shipped plans, Free with 2 requests: a test spends it in two calls.
  const plans = (fileConfig.plans ?? []).map((plan) =>
    plan.id === 'free' ? { ...plan, quotas: { ...plan.quotas, requests: 2 } } : plan,
  )
  const f = usePaymentsFixture({ upstream: true, config: { plans } })

  it('the plan form: Russian validation messages and day/week/month/year options', async () => {
    const admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin', lang: 'ru' })
    const bad = await admin.post('/admin/plans/pro', {
      name: 'Pro',
      price: '12.345',
      currency: 'RUB',
      interval: 'month',
      quota_requests: '-5',
      is_active: 'on',
      display_order: '1',
    })
    const html = await bad.text()
    expect(bad.status).toBe(400)
    expect(html).toContain(
      'id="e-price">должно быть неотрицательной суммой, не более двух знаков после запятой',
    )
    expect(html).toMatch(/id="e-quota_requests">Слишком маленькое значение/)
    expect(html).not.toMatch(/Too small|must be/)
    const options = [...html.matchAll(/<option value="(\w+)"[^>]*>([^<]+)</g)].map((m) => [
      m[1],
      m[2],
    ])
    expect(options).toEqual([
      ['day', 'день'],
      ['week', 'неделя'],
      ['month', 'месяц'],
      ['year', 'год'],
    ])
    // In English the API's own words stay.
    const en = await signInWeb(f.h, f.base, 'boss2', { role: 'admin', lang: 'en' })
    const enHtml = await (
      await en.post('/admin/plans/pro', { name: 'Pro', price: '12.345' })
    ).text()
    expect(textOf(enHtml)).toContain('must be a non-negative amount with at most two decimals')
  })
  it("the payer's next steps: the spent quota, a decline and its reason", async () => {
    await f.chat('ivan', 2)
    const checkout = await f.checkout('ivan')
    f.fake.cancel(checkout.payment_id, 'card_expired', 'payment_network')
    expect((await f.deliver('payment.canceled', checkout.payment_id)).status).toBe(200)
    const web = await signInWeb(f.h, f.base, 'ivan', { lang: 'ru' })
    const text = textOf(await web.page('/billing'))
    expect(text).toContain('Квота «Запросы» исчерпана: запросы отклоняются до её обновления')
    expect(text).toContain(
      'Оплата тарифа «Профессиональный» отклонена: срок действия карты истёк. Деньги не списаны.',
    )
    expect(text).toContain('Попробовать снова')
    expect(text).toContain('Квота обновится')
  })
})
