import { describe, expect, it } from 'vitest'
import { takeOverAddress } from '../../src/ledger/lineage.ts'
import { runExpirePacks } from '../../src/ledger/packs/expire-packs.job.ts'
import { reserveFromPack } from '../../src/ledger/packs/pack-reserve.ts'
import { release, settle } from '../../src/ledger/service.ts'
import { sweepStaleReservations } from '../../src/ledger/sweeper.ts'
import { nowSeconds } from '../../src/lib/clock.ts'
import { packCalls } from '../helpers/packs.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { audit } from '../reliability/audit.ts'

// The free plan allows 2 requests a period; a pack sells 10 more for 100.00, valid 30 days.
const f = usePaymentsFixture({
  upstream: true,
  config: {
    plans: [
      {
        id: 'free',
        name: 'Free',
        price: 0,
        quotas: { requests: 2, tokens_input: null, tokens_output: null },
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

const calls = packCalls(f, 'req10')
const chat = async (user: string) => (await calls.chat(user)).status

/** Buys the pack as `user` through the real checkout and webhook; the transaction's id. */
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
  expect(body).toMatchObject({ status: 'pending', amount: '100.00', pack_id: 'req10' })
  f.fake.pay(body.payment_id!)
  const note = await f.deliver('payment.succeeded', body.payment_id!)
  expect(note.status, note.body).toBe(200)
  return body as { transaction_id: string; payment_id: string }
}

async function me(user: string) {
  const res = await f.h.request('/api/v1/billing/me', {
    headers: f.h.auth(await f.h.token({ sub: user })),
  })
  const body = (await res.json()) as {
    usage: Record<string, { used: number }>
    packs: {
      balance: Record<string, number>
      packs: Array<{ status: string; remaining: number; valid_until: number }>
      history: Array<{ kind: string; amount: number }>
    }
  }
  expect(res.status, JSON.stringify(body)).toBe(200)
  return body
}

async function auditHolds() {
  await f.h.deps.pendingSettles.idle(5_000)
  const report = await audit(f.h.db)
  expect(report.violations).toEqual([])
}

describe('prepaid packs', () => {
  it('a pack bought is credited once and spent only after the plan quota; the ledger sums to the balance', async () => {
    expect(await chat('u1')).toBe(200)
    expect(await chat('u1')).toBe(200)
    expect(await chat('u1')).toBe(429) // the period is spent and there is no pack

    const paid = await buyPack('u1')
    // A redelivered notification credits nothing more.
    const again = await f.deliver('payment.succeeded', paid.payment_id)
    expect(again.status, again.body).toBe(200)
    const bought = await me('u1')
    expect(bought.packs.balance.requests).toBe(10)
    expect(bought.packs.history.map((e) => e.kind)).toEqual(['credit'])
    const sent = f.fake.requestsTo('POST', /^\/payments$/).at(-1)
    expect(sent?.body).toMatchObject({
      amount: { value: '100.00', currency: 'RUB' },
      metadata: { transaction_id: paid.transaction_id, pack_id: 'req10' },
    })

    expect(await chat('u1')).toBe(200)
    expect(await chat('u1')).toBe(200)
    const spent = await me('u1')
    // The period counted its 2 requests only: the pack paid the next two, never both.
    expect(spent.usage.requests?.used).toBe(2)
    expect(spent.packs.balance.requests).toBe(8)
    expect(spent.packs.history.map((e) => [e.kind, e.amount])).toEqual([
      ['spend', -1],
      ['spend', -1],
      ['credit', 10],
    ])
    await auditHolds()
  })

  it('a user with a pack spends the plan quota first', async () => {
    await buyPack('u2')
    expect(await chat('u2')).toBe(200)
    const first = await me('u2')
    expect(first.usage.requests?.used).toBe(1)
    expect(first.packs.balance.requests).toBe(10)
    await auditHolds()
  })

  it('a pack past its validity is refused and expired once by the job, its entry summing to zero', async () => {
    await buyPack('u3')
    expect(await chat('u3')).toBe(200)
    expect(await chat('u3')).toBe(200)
    expect(await chat('u3')).toBe(200) // the pack's
    f.h.clock.advance(31 * 86_400_000)
    // The period rolled over with the month: spend it, then the expired pack must not pay.
    expect(await chat('u3')).toBe(200)
    expect(await chat('u3')).toBe(200)
    expect(await chat('u3')).toBe(429)
    expect(await runExpirePacks(f.h.deps)).toBe(1)
    expect(await runExpirePacks(f.h.deps)).toBe(0)
    const expired = await me('u3')
    expect(expired.packs.packs[0]).toMatchObject({ status: 'expired', remaining: 0 })
    expect(expired.packs.balance.requests).toBe(0)
    expect(expired.packs.history.map((e) => [e.kind, e.amount])).toEqual([
      ['expiry', -9],
      ['spend', -1],
      ['credit', 10],
    ])
    await auditHolds()
  })

  it('a refund pays back the unused part pro rata, at most, and the pack stops being spendable', async () => {
    const paid = await buyPack('u4')
    for (let i = 0; i < 5; i++) expect(await chat('u4')).toBe(200) // 2 of the period, 3 of the pack
    const admin = await f.h.adminToken()
    const refund = (body: unknown) =>
      f.h.json(
        'POST',
        `/api/v1/billing/admin/transactions/${paid.transaction_id}/refund`,
        body,
        admin,
      )
    // 7 of 10 unused: 100.00 x 7 / 10 = 70.00 at most.
    const tooMuch = await refund({ amount: '70.01' })
    expect(tooMuch.status, await tooMuch.clone().text()).toBe(400)
    expect(await chat('u4')).toBe(200) // the refused refund left the pack spendable: 6 left
    const res = await refund({})
    const body = (await res.json()) as { refund: Record<string, string> }
    expect(res.status, JSON.stringify(body)).toBe(201)
    expect(body.refund).toMatchObject({ status: 'succeeded', amount: '60.00' })
    expect(f.fake.requestsTo('POST', /^\/refunds$/).at(-1)?.body).toMatchObject({
      amount: { value: '60.00', currency: 'RUB' },
    })
    expect(await chat('u4')).toBe(429)
    const refunded = await me('u4')
    expect(refunded.packs.packs[0]).toMatchObject({ status: 'refunded', remaining: 0 })
    expect(refunded.packs.history[0]).toMatchObject({ kind: 'refund', amount: -6 })
    const twice = await refund({})
    expect(twice.status, await twice.clone().text()).toBe(409)
    await auditHolds()
  })

  it('checkout refuses a pack that does not exist, and both a plan and a pack at once', async () => {
    const token = await f.h.token({ sub: 'u5' })
    const pay = (body: unknown) => f.h.json('POST', '/api/v1/billing/payment', body, token)
    const unknown = await pay({ pack_id: 'nope', return_url: 'https://app.example/r' })
    expect(unknown.status, await unknown.clone().text()).toBe(404)
    const both = await pay({
      pack_id: 'req10',
      plan_id: 'pro',
      return_url: 'https://app.example/r',
    })
    expect(both.status, await both.clone().text()).toBe(400)
    expect(await f.h.db.selectFrom('billing_transaction').selectAll().execute()).toEqual([])
    // The packs on sale are public, as the plans are.
    const listed = await f.h.request('/api/v1/billing/packs')
    expect(await listed.json()).toEqual([
      {
        id: 'req10',
        name: '10 requests',
        name_ru: null,
        metric: 'requests',
        amount: 10,
        price: '100.00',
        currency: 'RUB',
        validity_days: 30,
      },
    ])
    expect(nowSeconds(f.h.clock)).toBeGreaterThan(0)
  })

  it("a dead process's pack-funded reservations: the sent one spent as estimated, the unsent released, each once", async () => {
    await buyPack('u6')
    const now = nowSeconds(f.h.clock)
    const held = (requestId: string, sentAt: number | null) =>
      reserveFromPack(f.h.db, {
        requestId,
        userId: 'u6',
        metric: 'requests',
        amount: 1,
        owner: 'a-process-that-died',
        now,
        sentAt,
      })
    expect(await held('sent-1', now)).toMatchObject({ available: 9 })
    expect(await held('unsent-1', null)).toMatchObject({ available: 8 })
    expect((await me('u6')).packs.balance.requests).toBe(8)
    f.h.clock.advance(60_000)
    expect(await sweepStaleReservations(f.h.deps)).toEqual({ settled: 1, released: 1 })
    expect(await sweepStaleReservations(f.h.deps)).toEqual({ settled: 0, released: 0 })
    // The owner's own settle arriving late changes nothing more (the estimate was right),
    // and a late release finds nothing.
    const identity = {
      userId: 'u6',
      subscriptionId: 's',
      periodStart: 0,
      modelId: null,
      chatId: null,
    }
    const actual = { requests: 1, tokens_input: 0, tokens_output: 0 }
    expect(await settle(f.h.deps, 'sent-1', actual, { identity })).toBe(false)
    expect(await release(f.h.deps, 'unsent-1')).toBe(false)
    const after = await me('u6')
    expect(after.packs.balance.requests).toBe(9)
    expect(after.packs.history.map((e) => [e.kind, e.amount])).toEqual([
      ['spend', -1],
      ['credit', 10],
    ])
    await auditHolds()
  })

  it('concurrent pack reservations admit exactly the room the pack has, never more', async () => {
    await buyPack('u7')
    const now = nowSeconds(f.h.clock)
    const attempts = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        reserveFromPack(f.h.db, {
          requestId: `race-${i}`,
          userId: 'u7',
          metric: 'requests',
          amount: 1,
          owner: f.h.deps.instance.id,
          now,
          sentAt: now,
        }),
      ),
    )
    expect(attempts.filter(Boolean)).toHaveLength(10)
    const actual = { requests: 1, tokens_input: 0, tokens_output: 0 }
    await Promise.all(attempts.map((held, i) => held && settle(f.h.deps, `race-${i}`, actual)))
    const after = await me('u7')
    expect(after.packs.balance.requests).toBe(0)
    expect(after.packs.packs[0]).toMatchObject({ status: 'used', remaining: 0, reserved: 0 })
    await auditHolds()
  })

  it("a process restarted on the same address ends its predecessor's pack-funded reservation at once", async () => {
    await buyPack('u8')
    const now = nowSeconds(f.h.clock)
    await f.h.db
      .insertInto('gateway_instance')
      .values({ id: 'predecessor', started_at: now, heartbeat_at: now, name: 'host:9999' })
      .execute()
    const held = await reserveFromPack(f.h.db, {
      requestId: 'inherited-1',
      userId: 'u8',
      metric: 'requests',
      amount: 1,
      owner: 'predecessor',
      now,
      sentAt: now,
    })
    expect(held).not.toBeNull()
    // Its heartbeat is fresh: the sweeper leaves it; the successor on its address does not wait.
    expect(await sweepStaleReservations(f.h.deps)).toEqual({ settled: 0, released: 0 })
    expect(await takeOverAddress(f.h.deps, 'host:9999')).toEqual({ settled: 1, released: 0 })
    expect((await me('u8')).packs.balance.requests).toBe(9)
    await auditHolds()
  })
})

describe('a promo code that grants a pack', () => {
  async function createPackCode(body: Record<string, unknown>) {
    const res = await f.h.json(
      'POST',
      '/api/v1/billing/admin/promo-codes',
      { label: 'gift pack', ...body },
      await f.h.adminToken(),
    )
    return { status: res.status, body: (await res.json()) as Record<string, any> }
  }
  async function redeem(user: string, code: string) {
    const res = await f.h.json(
      'POST',
      '/api/v1/billing/promo-codes/redeem',
      { code },
      await f.h.token({ sub: user }),
    )
    return { status: res.status, body: (await res.json()) as Record<string, any> }
  }

  it('credits the pack at no price, once per user, single use under a concurrent double redemption; the audit holds', async () => {
    const created = await createPackCode({ kind: 'pack', pack_id: 'req10', max_uses: 1 })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body).toMatchObject({ kind: 'pack', pack_id: 'req10', plan_id: null })
    const [a, b] = await Promise.all([
      redeem('gift-a', created.body.code),
      redeem('gift-b', created.body.code),
    ])
    expect([a.status, b.status].sort(), JSON.stringify([a.body, b.body])).toEqual([200, 409])
    const winner = a.status === 200 ? 'gift-a' : 'gift-b'
    const loser = a.status === 200 ? 'gift-b' : 'gift-a'
    expect((a.status === 200 ? a : b).body).toMatchObject({ kind: 'pack', pack_id: 'req10' })
    const won = await me(winner)
    expect(won.packs.balance.requests).toBe(10)
    expect(won.packs.history.map((e) => [e.kind, e.amount])).toEqual([['credit', 10]])
    expect((await me(loser)).packs.balance.requests ?? 0).toBe(0)
    // The pack it granted funds requests once the plan's quota is spent, as a bought one does.
    expect(await chat(winner)).toBe(200)
    expect(await chat(winner)).toBe(200)
    expect(await chat(winner)).toBe(200)
    expect((await me(winner)).packs.balance.requests).toBe(9)
    await auditHolds()
  })

  it('refuses a pack code without its pack, with an unknown pack, or with plan days, and stores nothing', async () => {
    const before = await f.h.db.selectFrom('promo_code').select('id').execute()
    expect((await createPackCode({ kind: 'pack' })).status).toBe(400)
    expect((await createPackCode({ kind: 'pack', pack_id: 'nope' })).status).toBe(404)
    expect((await createPackCode({ kind: 'pack', pack_id: 'req10', days: 3 })).status).toBe(400)
    expect(
      (await createPackCode({ kind: 'discount', percent_off: 10, pack_id: 'req10' })).status,
    ).toBe(400)
    expect(await f.h.db.selectFrom('promo_code').select('id').execute()).toEqual(before)
  })
})
