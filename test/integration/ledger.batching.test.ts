import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/** The ledger's group commit (src/billing/write-batcher.ts), on the real database. */
describe(`ledger write batching (${TEST_DIALECT})`, () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness()
  })
  afterAll(() => h.close())

  const insertUser =
    (id: string) => (trx: Parameters<Parameters<Harness['deps']['ledgerWrites']['run']>[0]>[0]) =>
      trx
        .insertInto('gateway_user')
        .values({ id, email: null, role: 'user', created_at: 1, last_seen_at: 1 })
        .execute()
        .then(() => trx)

  it('runs the writes queued in one event-loop turn in one transaction, each awaiting its own result', async () => {
    const [a, b, c] = await Promise.all(
      ['batch-a', 'batch-b', 'batch-c'].map((id) => h.deps.ledgerWrites.run(insertUser(id))),
    )
    expect(a).toBe(b)
    expect(b).toBe(c)
    const later = await h.deps.ledgerWrites.run(insertUser('batch-d'))
    expect(later, 'a write queued after the flush gets a transaction of its own').not.toBe(a)
    const rows = await h.db
      .selectFrom('gateway_user')
      .select('id')
      .where('id', 'like', 'batch-%')
      .execute()
    expect(rows.map((r) => r.id).sort()).toEqual(['batch-a', 'batch-b', 'batch-c', 'batch-d'])
  })

  it('a failing write does not sink the others queued with it: they are retried one by one', async () => {
    const results = await Promise.allSettled([
      h.deps.ledgerWrites.run(insertUser('lone-ok-1')),
      h.deps.ledgerWrites.run(insertUser('lone-ok-1')), // duplicate key: fails
      h.deps.ledgerWrites.run(insertUser('lone-ok-2')),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    const rows = await h.db
      .selectFrom('gateway_user')
      .select('id')
      .where('id', 'like', 'lone-ok-%')
      .execute()
    expect(rows.map((r) => r.id).sort()).toEqual(['lone-ok-1', 'lone-ok-2'])
  })
})
