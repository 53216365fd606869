import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createYooKassaHttpClient, type YooKassaClient } from '../../src/yookassa/client.ts'
import { YooKassaError } from '../../src/yookassa/errors.ts'
import { type FakeYooKassa, startFakeYooKassa } from '../helpers/fake-yookassa.ts'

let fake: FakeYooKassa
let client: YooKassaClient
let sleeps: number[]

function makeClient(
  overrides: { secretKey?: string; timeoutMs?: number; maxAttempts?: number } = {},
) {
  return createYooKassaHttpClient({
    apiUrl: fake.url,
    shopId: fake.shopId,
    secretKey: overrides.secretKey ?? fake.secretKey,
    timeoutMs: overrides.timeoutMs ?? 2_000,
    maxAttempts: overrides.maxAttempts ?? 3,
    sleep: async (ms) => {
      sleeps.push(ms)
    },
  })
}

const order = (key = 'k1') =>
  [
    {
      amount: { kopecks: 99_000, currency: 'RUB' },
      capture: true,
      description: 'Plan pro, 1 month',
      metadata: { transaction_id: 't1' },
      confirmation: { type: 'redirect' as const, return_url: 'https://app.example/return' },
    },
    key,
  ] as const

beforeEach(async () => {
  fake = await startFakeYooKassa()
  sleeps = []
  client = makeClient()
})
afterEach(async () => {
  await client.close()
  await fake.close()
})

describe('YooKassa client: retries keep one Idempotence-Key', () => {
  it('retries a 500 with the same key and body, and honours retry_after', async () => {
    fake.fail({ method: 'POST', path: /^\/payments$/ }, { status: 500, retryAfterMs: 1234 })
    const payment = await client.createPayment(...order('key-500'))
    const posts = fake.requestsTo('POST', /^\/payments$/)
    expect(
      posts.map((r) => [r.status, r.idempotenceKey]),
      JSON.stringify(posts),
    ).toEqual([
      [500, 'key-500'],
      [200, 'key-500'],
    ])
    expect(posts[0]!.body).toEqual(posts[1]!.body)
    expect(sleeps).toEqual([1234])
    expect(payment.amount).toEqual({ kopecks: 99_000, currency: 'RUB' })
  })

  it('a lost answer (processed, then 500) is replayed, not charged twice', async () => {
    fake.fail({ method: 'POST', path: /^\/payments$/ }, { status: 500, afterProcessing: true })
    const payment = await client.createPayment(...order('key-lost'))
    expect(fake.payments.size, JSON.stringify([...fake.payments.values()])).toBe(1)
    expect(fake.payments.has(payment.id)).toBe(true)
  })

  it('retries a 202 and a timeout, with backoff when no retry_after is given', async () => {
    client = makeClient({ timeoutMs: 300 })
    fake.fail({ method: 'POST', path: /^\/payments$/ }, { status: 202 })
    fake.fail({ method: 'POST', path: /^\/payments$/ }, { hang: true })
    const payment = await client.createPayment(...order('key-202'))
    const keys = fake.requestsTo('POST', /^\/payments$/).map((r) => r.idempotenceKey)
    expect(keys).toEqual(['key-202', 'key-202', 'key-202'])
    expect(sleeps).toEqual([500, 1000])
    expect(payment.status).toBe('pending')
  })

  it('gives up after the bounded number of attempts with a transient error', async () => {
    fake.fail({ method: 'GET' }, { status: 500, count: 10 })
    const created = await client.createPayment(...order())
    const error = await client.getPayment(created.id).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(YooKassaError)
    expect((error as YooKassaError).transient).toBe(true)
    expect(fake.requestsTo('GET', /^\/payments\//)).toHaveLength(3)
  })

  it('treats 4xx as final: one call, not transient', async () => {
    client = makeClient({ secretKey: 'wrong' })
    const error = (await client.createPayment(...order()).catch((e: unknown) => e)) as YooKassaError
    expect(error.status).toBe(401)
    expect(error.code).toBe('invalid_credentials')
    expect(error.transient).toBe(false)
    expect(fake.requests).toHaveLength(1)
    expect(error.message).not.toContain('wrong')
  })

  it('a network failure surfaces as a transient error', async () => {
    fake.fail({ method: 'GET' }, { reset: true, count: 5 })
    const error = (await client.getPayment('x', { attempts: 1 }).catch((e) => e)) as YooKassaError
    expect(error.status).toBeNull()
    expect(error.transient).toBe(true)
    expect(fake.requests).toHaveLength(1)
  })
})

describe('fake YooKassa: Idempotence-Key semantics', () => {
  it('same key and same body replay the first payment', async () => {
    const first = await client.createPayment(...order('same'))
    const second = await client.createPayment(...order('same'))
    expect(second.id).toBe(first.id)
    expect(fake.payments.size).toBe(1)
  })

  it('same key with another body is 400 invalid_request on Idempotence-Key', async () => {
    await client.createPayment(...order('dup'))
    const [body] = order()
    const error = (await client
      .createPayment({ ...body, amount: { kopecks: 100, currency: 'RUB' } }, 'dup')
      .catch((e) => e)) as YooKassaError
    expect(error.status).toBe(400)
    expect(error.parameter).toBe('Idempotence-Key')
    expect(fake.payments.size).toBe(1)
  })
})
