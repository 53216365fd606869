import type { Insertable } from 'kysely'
import type { Db, Metric, UsageTable } from '../../db/tables.ts'

/** What billing_usage already holds for a request, per metric (the settle of a swept reservation). */
export async function recordedUsage(db: Db, requestId: string): Promise<Record<Metric, number>> {
  const rows = await db
    .selectFrom('billing_usage')
    .select(['metric', (eb) => eb.fn.sum<number>('amount').as('amount')])
    .where('request_id', '=', requestId)
    .groupBy('metric')
    .execute()
  const recorded = { requests: 0, tokens_input: 0, tokens_output: 0 }
  for (const row of rows) recorded[row.metric] = Number(row.amount)
  return recorded
}

/** The raw tokens and cost billing_usage already holds for a request, per metric (nulls count 0). */
export async function recordedDetail(db: Db, requestId: string) {
  const rows = await db
    .selectFrom('billing_usage')
    .select([
      'metric',
      (eb) => eb.fn.sum<number>('raw_amount').as('raw'),
      (eb) => eb.fn.sum<number>('cost_micros').as('cost'),
    ])
    .where('request_id', '=', requestId)
    .groupBy('metric')
    .execute()
  const raw = { requests: 0, tokens_input: 0, tokens_output: 0 }
  const cost = { requests: 0, tokens_input: 0, tokens_output: 0 }
  for (const row of rows) {
    raw[row.metric] = Number(row.raw ?? 0)
    cost[row.metric] = Number(row.cost ?? 0)
  }
  return { raw, cost }
}

export async function insertUsage(db: Db, rows: Array<Insertable<UsageTable>>): Promise<void> {
  if (rows.length > 0) await db.insertInto('billing_usage').values(rows).execute()
}
