import { type Kysely, sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import * as usagePerRequest from '../../db/migrations/0011_usage_per_request.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Migration 0011 (one usage row per settle, its metrics as columns) carries the rows of the old
 * shape (one per metric) over, and 0012 leaves the in-flight reservations without secondary indexes.
 */
let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

/** The secondary indexes of a table (its primary key's left out). */
async function indexesOf(harness: Harness, table: string): Promise<string[]> {
  const query =
    harness.deps.database.dialect === 'sqlite'
      ? sql<{ name: string }>`SELECT name FROM sqlite_master
          WHERE type = 'index' AND tbl_name = ${table} AND name NOT LIKE 'sqlite_autoindex_%'`
      : sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes
          WHERE schemaname = current_schema() AND tablename = ${table}
            AND indexname <> ${`${table}_pkey`}`
  return (await query.execute(harness.db)).rows.map((r) => r.name).sort()
}

const old = (
  id: string,
  requestId: string | null,
  metric: string,
  amount: number,
  more: { at: number; estimated?: number; raw?: number | null; cost?: number | null },
) => ({
  id,
  user_id: 'u1',
  subscription_id: 'sub-1',
  metric,
  amount,
  model_id: 'gpt-4o',
  chat_id: null,
  request_id: requestId,
  estimated: more.estimated ?? 0,
  created_at: more.at,
  raw_amount: more.raw ?? null,
  cost_micros: more.cost ?? null,
})

describe(`usage migrations (${TEST_DIALECT})`, () => {
  it('0011 carries the rows of one metric each over as one row per settle', async () => {
    h = await createHarness()
    const db = h.db as unknown as Kysely<any>
    await usagePerRequest.down(db)
    await db
      .insertInto('billing_usage')
      .values([
        // A settle: its three rows.
        old('a1', 'r1', 'requests', 1, { at: 1000, raw: 1 }),
        old('a2', 'r1', 'tokens_input', 100, { at: 1000, raw: 50, cost: 7 }),
        old('a3', 'r1', 'tokens_output', 20, { at: 1000, raw: 20, cost: 9 }),
        // A sweeper's estimate, then its owner's late correction (a row of its own).
        old('b1', 'r2', 'requests', 1, { at: 2000 }),
        old('b2', 'r2', 'tokens_input', 300, { at: 2000, estimated: 1 }),
        old('b3', 'r2', 'tokens_output', 500, { at: 2000, estimated: 1 }),
        old('c1', 'r2', 'tokens_output', -480, { at: 2005, raw: 20, cost: 5 }),
        // A row without request (imported history).
        old('d1', null, 'requests', 50, { at: 3000 }),
        // A settle the rollup's cursor cut in two: each side stays apart.
        old('e1', 'r3', 'requests', 1, { at: 4000, raw: 1 }),
        old('e2', 'r3', 'tokens_input', 30, { at: 4000, raw: 30 }),
        old('e3', 'r3', 'tokens_output', 4, { at: 4000, raw: 4 }),
      ])
      .execute()
    await db
      .updateTable('billing_usage_rollup')
      .set({ rolled_through: 'e1' })
      .where('name', '=', 'usage')
      .execute()

    await usagePerRequest.up(db)

    const rows = await h.db.selectFrom('billing_usage').selectAll().orderBy('id').execute()
    const n = (value: unknown) => (value === null ? null : Number(value))
    expect(
      rows.map((r) => [
        r.id,
        r.request_id,
        n(r.requests),
        n(r.tokens_input),
        n(r.tokens_output),
        n(r.raw_input),
        n(r.raw_output),
        n(r.cost_input_micros),
        n(r.cost_output_micros),
        n(r.estimated),
        n(r.created_at),
        n(r.cached_input),
      ]),
    ).toEqual([
      ['a1', 'r1', 1, 100, 20, 50, 20, 7, 9, 0, 1000, 0],
      ['b1', 'r2', 1, 300, 500, null, null, null, null, 1, 2000, 0],
      ['c1', 'r2', 0, 0, -480, null, 20, null, 5, 0, 2005, 0],
      ['d1', null, 50, 0, 0, null, null, null, null, 0, 3000, 0],
      ['e1', 'r3', 1, 0, 0, null, null, null, null, 0, 4000, 0],
      ['e2', 'r3', 0, 30, 4, 30, 4, null, null, 0, 4000, 0],
    ])
    expect(rows.every((r) => r.user_id === 'u1' && r.subscription_id === 'sub-1')).toBe(true)
    expect(await indexesOf(h, 'billing_usage')).toEqual([
      'billing_usage_request',
      'billing_usage_user_created',
    ])
  })

  it('leave the in-flight reservation table with its key alone, no secondary index', async () => {
    h = await createHarness()
    expect(await indexesOf(h, 'billing_reservation')).toEqual([])
  })
})
