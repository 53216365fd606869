import { describe, expect, it } from 'vitest'
import fileConfig from '../../gateway.config.ts'
import type { Harness } from '../helpers/harness.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { signInWeb, textOf } from '../helpers/web-session.ts'

/** A second free plan, to be the next default. */
const STARTER = {
  id: 'starter',
  name: 'Starter',
  price: 0,
  currency: 'RUB',
  interval: 'month' as const,
  quotas: { requests: 50 },
  features: ['gpt35_access'],
  is_active: true,
  display_order: 2,
}

/**
 * The default plan is a database setting (seeded from billing.defaultPlanId):
 * it cannot be deactivated without naming a new one, in the console and in the
 * admin API; naming one switches both in one transaction, audited; replicas
 * follow within billing.entitlementCacheMs.
 */
describe(`the default plan (${TEST_DIALECT})`, () => {
  const f = usePaymentsFixture({ config: { plans: [...(fileConfig.plans ?? []), STARTER] } })

  const state = async (h: Harness = f.h) => ({
    setting: (
      await h.db
        .selectFrom('gateway_setting')
        .select('value')
        .where('key', '=', 'default_plan_id')
        .executeTakeFirst()
    )?.value,
    active: Object.fromEntries(
      (await h.db.selectFrom('billing_plan').select(['id', 'is_active']).execute()).map((p) => [
        p.id,
        p.is_active,
      ]),
    ),
    audit: await h.db.selectFrom('console_audit').select('action').execute(),
  })
  /** The plan a user lands on, asked on replica `h` (a user seen for the first time gets the default). */
  const planOf = async (user: string, h: Harness = f.h) => {
    const res = await h.json(
      'GET',
      '/api/v1/billing/subscription',
      undefined,
      await h.token({ sub: user }),
    )
    const body = (await res.json()) as { plan: { id: string } }
    expect(res.status, JSON.stringify(body)).toBe(200)
    return body.plan.id as string
  }

  it('is seeded from billing.defaultPlanId at the first start', async () => {
    expect((await state()).setting).toBe('free')
    expect(await planOf('newcomer')).toBe('free')
  })

  it('API: deactivating or deleting the default without a new one is refused and changes nothing', async () => {
    const admin = await f.h.adminToken()
    const before = await state()
    for (const [method, body] of [
      ['PATCH', { is_active: false }],
      ['DELETE', undefined],
    ] as const) {
      const res = await f.h.json(method, '/api/v1/billing/plans/free', body, admin)
      const answer = (await res.json()) as { error: { message: string } }
      expect(res.status, JSON.stringify(answer)).toBe(409)
      expect(answer.error).toMatchObject({ code: 'conflict', param: 'new_default_plan_id' })
      expect(answer.error.message).toContain('default plan')
    }
    // An inactive or unknown successor, or the plan itself, is refused too.
    await f.h.json('PATCH', '/api/v1/billing/plans/starter', { is_active: false }, admin)
    for (const [next, status] of [
      ['starter', 409],
      ['nope', 404],
      ['free', 400],
    ] as const) {
      const res = await f.h.json(
        'PATCH',
        '/api/v1/billing/plans/free',
        { is_active: false, new_default_plan_id: next },
        admin,
      )
      expect(res.status, await res.text()).toBe(status)
    }
    expect(await state()).toEqual({ ...before, active: { ...before.active, starter: 0 } })
    expect(await planOf('newcomer')).toBe('free')
  })

  it('API: naming a new default deactivates the old one and switches new users and lapsed subscriptions to it', async () => {
    await f.creditedCheckout('payer')
    const admin = await f.h.adminToken()
    const res = await f.h.json(
      'PATCH',
      '/api/v1/billing/plans/free',
      { is_active: false, new_default_plan_id: 'starter' },
      admin,
    )
    expect(res.status, await res.text()).toBe(200)
    expect(await state()).toMatchObject({ setting: 'starter', active: { free: 0, starter: 1 } })
    expect(await planOf('newcomer')).toBe('starter')
    const current = await f.h.json('GET', '/api/v1/billing/admin/default-plan', undefined, admin)
    expect(await current.json()).toMatchObject({ plan_id: 'starter' })

    // The paid month runs out (no card saved): the payer falls to the new default.
    f.h.clock.advance(32 * 86_400_000)
    expect(await planOf('payer')).toBe('starter')
    // A new default is named only when the default is deactivated.
    const stray = await f.h.json(
      'PATCH',
      '/api/v1/billing/plans/pro',
      { is_active: false, new_default_plan_id: 'starter' },
      await f.h.adminToken(),
    )
    expect(stray.status, await stray.text()).toBe(409)
  })

  it('API: PUT /admin/default-plan makes an active plan the default; bad input changes nothing', async () => {
    const admin = await f.h.adminToken()
    const path = '/api/v1/billing/admin/default-plan'
    const user = await f.h.token({ sub: 'someone' })
    expect((await f.h.json('PUT', path, { plan_id: 'starter' }, user)).status).toBe(403)
    expect((await f.h.json('PUT', path, { plan: 'starter' }, admin)).status).toBe(400)
    expect((await f.h.json('PUT', path, { plan_id: 'nope' }, admin)).status).toBe(404)
    await f.h.json('PATCH', '/api/v1/billing/plans/starter', { is_active: false }, admin)
    const inactive = await f.h.json('PUT', path, { plan_id: 'starter' }, admin)
    expect(inactive.status).toBe(409)
    expect(((await inactive.json()) as { error: { message: string } }).error.message).toContain(
      'inactive',
    )
    expect((await state()).setting).toBe('free')

    await f.h.json('PATCH', '/api/v1/billing/plans/starter', { is_active: true }, admin)
    const made = await f.h.json('PUT', path, { plan_id: 'starter' }, admin)
    expect(made.status).toBe(200)
    expect(await made.json()).toEqual({ plan_id: 'starter', previous_plan_id: 'free' })
    expect(await planOf('newcomer')).toBe('starter')
    // The former default stays active, and may now be deactivated as any plan.
    expect(
      (await f.h.json('PATCH', '/api/v1/billing/plans/free', { is_active: false }, admin)).status,
    ).toBe(200)
  })

  it('console: deactivating the default needs a new default; naming one switches both, audited', async () => {
    const admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    const page = await admin.page('/admin/plans')
    expect(page).toContain('name="new_default_plan_id"')

    const before = await state()
    const refused = await admin.post('/admin/plans/free/active', { active: 'off' })
    expect(refused.status).toBe(409)
    expect(textOf(await refused.text())).toContain('This is the default plan')
    expect(await state()).toEqual(before)

    const done = await admin.post('/admin/plans/free/active', {
      active: 'off',
      new_default_plan_id: 'starter',
    })
    expect(done.status, await done.text()).toBe(303)
    expect(await state()).toMatchObject({ setting: 'starter', active: { free: 0, starter: 1 } })
    expect(await planOf('newcomer')).toBe('starter')
    const audit = await f.h.db.selectFrom('console_audit').selectAll().execute()
    expect(audit.map((r) => [r.action, r.subject, r.actor_id])).toEqual([
      ['plan_active', 'free', 'boss'],
    ])
    expect(JSON.parse(audit[0]!.before!)).toMatchObject({
      id: 'free',
      is_active: true,
      default_plan_id: 'free',
    })
    expect(JSON.parse(audit[0]!.after!)).toMatchObject({
      id: 'free',
      is_active: false,
      default_plan_id: 'starter',
    })
  })

  it('console: "Make default" is reviewed, names what changes, and is audited', async () => {
    const admin = await signInWeb(f.h, f.base, 'boss', { role: 'admin' })
    expect(await admin.page('/admin/plans')).toContain('href="/admin/plans/starter/default"')
    const review = textOf(await admin.page('/admin/plans/starter/default'))
    expect(review).toContain(
      'New sign-ups and users whose subscription ends will fall to Starter instead of Free.',
    )
    const before = await state()
    // Only the review's button changes it, and only while the default is the one reviewed.
    expect((await admin.post('/admin/plans/starter/default', {})).status).toBe(400)
    expect((await admin.post('/admin/plans/starter/default', { from: 'pro' })).status).toBe(409)
    expect(await state()).toEqual(before)

    const made = await admin.post('/admin/plans/starter/default', { from: 'free' })
    expect(made.status, await made.text()).toBe(303)
    expect((await state()).setting).toBe('starter')
    const audit = await f.h.db.selectFrom('console_audit').selectAll().execute()
    expect(audit.map((r) => [r.action, r.subject])).toEqual([['plan_default', 'starter']])
    expect(JSON.parse(audit[0]!.before!)).toEqual({ default_plan_id: 'free' })
    expect(JSON.parse(audit[0]!.after!)).toEqual({ default_plan_id: 'starter' })
    expect(textOf(await admin.page('/admin/audit'))).toContain('Default plan changed')
  })

  it('racing a switch to a plan against the deactivation of that plan never leaves an inactive default', async () => {
    const admin = await f.h.adminToken()
    const patch = (id: string, body: object) =>
      f.h.json('PATCH', `/api/v1/billing/plans/${id}`, body, admin)
    for (let round = 0; round < 8; round++) {
      const [switched, deactivated] = await Promise.all([
        patch('free', { is_active: false, new_default_plan_id: 'starter' }),
        patch('starter', { is_active: false }),
      ])
      const statuses = [switched.status, deactivated.status].sort()
      expect(statuses, `round ${round}`).toEqual([200, 409])
      const { setting, active } = await state()
      expect(active[setting!], `round ${round}: the default ${setting} is active`).toBe(1)
      // Back to the start: free the default, both active.
      await patch('free', { is_active: true })
      await patch('starter', { is_active: true })
      await f.h.json('PUT', '/api/v1/billing/admin/default-plan', { plan_id: 'free' }, admin)
    }
  })

  it('two replicas: the other one follows within billing.entitlementCacheMs', async () => {
    const other = await f.replica()
    const bound = f.h.deps.config.billing.entitlementCacheMs
    expect(await planOf('early', other)).toBe('free')
    const admin = await f.h.adminToken()
    const made = await f.h.json(
      'PUT',
      '/api/v1/billing/admin/default-plan',
      { plan_id: 'starter' },
      admin,
    )
    expect(made.status).toBe(200)
    expect(await planOf('here')).toBe('starter')
    // The other replica read the default less than the bound ago: it may still answer free...
    expect(await planOf('there-soon', other)).toBe('free')
    // ...and no longer once its read is older than the bound.
    f.h.clock.advance(bound)
    expect(await planOf('there-later', other)).toBe('starter')

    // A default deactivated with its replacement is never handed out by a replica's stale read.
    await f.h.json('PUT', '/api/v1/billing/admin/default-plan', { plan_id: 'free' }, admin)
    f.h.clock.advance(bound)
    expect(await planOf('warm', other)).toBe('free')
    const res = await f.h.json(
      'PATCH',
      '/api/v1/billing/plans/free',
      { is_active: false, new_default_plan_id: 'starter' },
      admin,
    )
    expect(res.status).toBe(200)
    expect(await planOf('at-once', other)).toBe('starter')
  })
})
