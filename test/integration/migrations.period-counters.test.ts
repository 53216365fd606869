import { type Kysely, sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import * as periodCounters from '../../db/migrations/0018_period_counters.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Migration 0018 folds a period's three counter rows (one per metric) into one row, the metrics
 * as columns, and its down unfolds them again: nothing counted or reserved is lost either way.
 */
let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

const metricRow = (
  subscription: string,
  period: number,
  metric: string,
  used: number,
  reserved: number,
  lastReserved = 0,
) => ({
  subscription_id: subscription,
  period_start: period,
  metric,
  used,
  reserved,
  last_reserved: lastReserved,
  updated_at: period + 5,
})

/** The folded rows as plain numbers, ordered by key. */
async function foldedRows(db: Kysely<any>) {
  const rows = await db
    .selectFrom('billing_quota_counter')
    .selectAll()
    .orderBy('subscription_id')
    .orderBy('period_start')
    .execute()
  return rows.map((r) => ({
    key: `${r.subscription_id}/${Number(r.period_start)}`,
    requests: [Number(r.requests_used), Number(r.requests_reserved)],
    tokens_input: [Number(r.tokens_input_used), Number(r.tokens_input_reserved)],
    tokens_output: [Number(r.tokens_output_used), Number(r.tokens_output_reserved)],
    last: Number(r.tokens_output_last_reserved),
    updated_at: Number(r.updated_at),
  }))
}

describe(`counter migrations (${TEST_DIALECT})`, () => {
  it('0018 folds the three rows of a period into one, and its down unfolds them', async () => {
    h = await createHarness()
    const db = h.db as unknown as Kysely<any>
    await periodCounters.down(db)
    await db
      .insertInto('billing_quota_counter')
      .values([
        // A period with requests in flight.
        metricRow('sub-1', 1000, 'requests', 7, 2),
        metricRow('sub-1', 1000, 'tokens_input', 700, 150),
        metricRow('sub-1', 1000, 'tokens_output', 900, 64, 32),
        // The same subscription's earlier period, settled.
        metricRow('sub-1', 500, 'requests', 3, 0),
        metricRow('sub-1', 500, 'tokens_input', 30, 0),
        metricRow('sub-1', 500, 'tokens_output', 12, 0),
        // A period missing a metric's row (a lost row): the missing metric starts at 0.
        metricRow('sub-2', 1000, 'requests', 1, 1),
        metricRow('sub-2', 1000, 'tokens_output', 5, 0),
      ])
      .execute()

    await periodCounters.up(db)

    const folded = await foldedRows(db)
    expect(folded, JSON.stringify(folded)).toEqual([
      {
        key: 'sub-1/500',
        requests: [3, 0],
        tokens_input: [30, 0],
        tokens_output: [12, 0],
        last: 0,
        updated_at: 505,
      },
      {
        key: 'sub-1/1000',
        requests: [7, 2],
        tokens_input: [700, 150],
        tokens_output: [900, 64],
        last: 32,
        updated_at: 1005,
      },
      {
        key: 'sub-2/1000',
        requests: [1, 1],
        tokens_input: [0, 0],
        tokens_output: [5, 0],
        last: 0,
        updated_at: 1005,
      },
    ])
    // One row per subscription and period: a second one for the same key is refused.
    await expect(
      db
        .insertInto('billing_quota_counter')
        .values({ subscription_id: 'sub-1', period_start: 1000, updated_at: 1 })
        .execute(),
    ).rejects.toThrow(/unique|duplicate/i)

    await periodCounters.down(db)
    const unfolded = await db
      .selectFrom('billing_quota_counter')
      .selectAll()
      .where('subscription_id', '=', 'sub-1')
      .where('period_start', '=', 1000)
      .orderBy('metric')
      .execute()
    expect(
      unfolded.map((r) => [r.metric, Number(r.used), Number(r.reserved)]),
      JSON.stringify(unfolded),
    ).toEqual([
      ['requests', 7, 2],
      ['tokens_input', 700, 150],
      ['tokens_output', 900, 64],
    ])
    await periodCounters.up(db)
  })

  it('keep the counters in one table under the same name, keyed by subscription and period', async () => {
    h = await createHarness()
    const query =
      h.deps.database.dialect === 'sqlite'
        ? sql<{
            name: string
          }>`SELECT name FROM pragma_table_info('billing_quota_counter') WHERE pk > 0`
        : sql<{ name: string }>`SELECT a.attname AS name FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = 'billing_quota_counter'::regclass AND i.indisprimary`
    const key = (await query.execute(h.db)).rows.map((r) => r.name).sort()
    expect(key).toEqual(['period_start', 'subscription_id'])
  })
})
