import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { migrationStatus } from '../../db/migrate.ts'
import { migrations } from '../../db/migrations/index.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'

/** Every table of docs/reference/ARCHITECTURE.md's data model (the seed's four plus what the gateway needs). */
const TABLES = [
  'billing_plan',
  'billing_subscription',
  'billing_usage',
  'billing_transaction',
  'billing_quota_counter',
  'billing_reservation',
  'gateway_api_key',
  'gateway_user',
  'billing_webhook_event',
  'billing_usage_daily',
  'billing_usage_rollup',
]

async function listTables(h: Harness): Promise<string[]> {
  const query =
    h.deps.database.dialect === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where type = 'table'`
      : sql<{ name: string }>`select table_name as name from information_schema.tables
          where table_schema = current_schema() and table_type = 'BASE TABLE'`
  const { rows } = await query.execute(h.db)
  return rows.map((r) => r.name).sort()
}

describe(`migrations (${process.env.TEST_DATABASE ?? 'sqlite'})`, () => {
  let h: Harness
  afterEach(async () => {
    await h?.close()
  })

  it('create every table of the data model', async () => {
    h = await createHarness()
    const tables = await listTables(h)
    expect(tables, JSON.stringify(tables)).toEqual(expect.arrayContaining(TABLES))
  })

  it('migrate a fresh database while another one (schema) already holds migration tables', async () => {
    // On PostgreSQL Kysely's Migrator once took another schema's kysely_migration as its own.
    h = await createHarness()
    const second = await createHarness()
    try {
      const tables = await listTables(second)
      expect(tables, JSON.stringify(tables)).toEqual(expect.arrayContaining(TABLES))
      expect((await migrationStatus(second.db)).pending).toEqual([])
    } finally {
      await second.close()
    }
  })

  it('leave nothing pending: every statically indexed migration is applied', async () => {
    h = await createHarness()
    const status = await migrationStatus(h.db)
    expect(status.pending, JSON.stringify(status)).toEqual([])
    expect(
      status.applied.map((m) => m.name),
      JSON.stringify(status),
    ).toEqual(Object.keys(migrations).sort())
  })

  it('make provider_payment_id unique, so a YooKassa payment is recorded once', async () => {
    h = await createHarness()
    const row = (id: string) => ({
      id,
      user_id: 'u1',
      plan_id: 'pro',
      kind: 'payment' as const,
      amount: 99_000,
      currency: 'RUB',
      status: 'pending' as const,
      provider: 'yookassa',
      provider_payment_id: 'pay-1',
      idempotence_key: `idem-${id}`,
      description: null,
      metadata: '{}',
      refunded_amount: 0,
      created_at: 1,
      updated_at: 1,
    })
    await h.db.insertInto('billing_transaction').values(row('t1')).execute()
    await expect(
      h.db.insertInto('billing_transaction').values(row('t2')).execute(),
    ).rejects.toThrow(/unique|duplicate/i)
  })

  it('make quota counters unique per subscription and period (one row holds its metrics)', async () => {
    h = await createHarness()
    const row = { subscription_id: 's1', period_start: 100, updated_at: 1 }
    await h.db.insertInto('billing_quota_counter').values(row).execute()
    await h.db
      .insertInto('billing_quota_counter')
      .values({ ...row, period_start: 200 })
      .execute()
    await expect(h.db.insertInto('billing_quota_counter').values(row).execute()).rejects.toThrow(
      /unique|duplicate/i,
    )
  })

  it('key the daily usage rollup per user, day, plan, model and metric; start it at nothing', async () => {
    h = await createHarness()
    const row = {
      user_id: 'u1',
      day: 86_400,
      plan_id: '',
      model_id: 'gpt-4o',
      metric: 'requests' as const,
      amount: 1,
      raw_amount: 1,
      cost_micros: 0,
      last_at: 86_401,
    }
    await h.db.insertInto('billing_usage_daily').values(row).execute()
    await h.db
      .insertInto('billing_usage_daily')
      .values({ ...row, model_id: '' })
      .execute()
    await expect(h.db.insertInto('billing_usage_daily').values(row).execute()).rejects.toThrow(
      /unique|duplicate/i,
    )
    const state = await h.db.selectFrom('billing_usage_rollup').selectAll().execute()
    expect(state.map((s) => [s.name, s.rolled_through, Number(s.complete_since)])).toEqual([
      ['usage', '', 0],
    ])
  })

  it('allow one live subscription per user at most', async () => {
    h = await createHarness()
    const row = (id: string, status: 'active' | 'expired') => ({
      id,
      user_id: 'u1',
      plan_id: 'pro',
      status,
      current_period_start: 1,
      current_period_end: 2,
      period_anchor: 1,
      paid_until: null,
      version: 0,
      cancel_at_period_end: 0,
      auto_renew: 0,
      payment_method_id: null,
      grace_until: null,
      created_at: 1,
      updated_at: 1,
    })
    await h.db.insertInto('billing_subscription').values(row('s1', 'active')).execute()
    await h.db.insertInto('billing_subscription').values(row('s0', 'expired')).execute()
    await expect(
      h.db.insertInto('billing_subscription').values(row('s2', 'active')).execute(),
    ).rejects.toThrow(/unique|duplicate/i)
  })
})
