import type { Kysely } from 'kysely'
import type { DB } from '../../db/tables.ts'
import { byMetric, COUNTER_COLUMNS } from '../helpers/counters.ts'
import { perMetric } from '../helpers/usage-rows.ts'
import { auditPacks } from './audit-packs.ts'

/**
 * The one audit every reliability scenario ends with. It reads the ledger and
 * the payments straight from the database and returns the violations (empty
 * = the audit holds), so a scenario can also prove that the audit catches a
 * broken property (docs/reliability.md, "Breaking it on purpose").
 *
 * 1. served <= billed: every request the upstream served is billed (per
 *    metric, the ledger's sum is at least what the upstream reported);
 * 2. none twice: each request counts exactly 1 in `requests`; per (request_id, metric) at
 *    most two rows (a sweep's estimate, then the late settle's correction, docs/billing-integrity.md)
 *    whose sum is not negative;
 * 3. nothing stays reserved: no reservation row, every counter's `reserved` 0;
 * 4. counters equal the sum of usage rows, per subscription and metric;
 * 5. every payment credited once: one transaction per YooKassa payment, each
 *    expected payment `succeeded`, at most one "applied: credited" per payment;
 * 6. prepaid packs: each pack's entries sum to its balance, no spend beyond its
 *    credit, each pack payment credited once (audit-packs.ts).
 */
export interface AuditExpectations {
  /** What the upstream served and reported (its own count of answers and usage). */
  served?: { requests: number; tokens_input: number; tokens_output: number }
  /** YooKassa payment ids that were paid and must be credited (once). */
  paidPayments?: string[]
}

export interface AuditReport {
  violations: string[]
  billed: { requests: number; tokens_input: number; tokens_output: number }
}

export async function audit(db: Kysely<DB>, expect: AuditExpectations = {}): Promise<AuditReport> {
  const violations: string[] = []
  // One row per settle, its metrics as columns: read per metric, as the checks below count.
  const usage = perMetric(await db.selectFrom('billing_usage').selectAll().execute())
  const billed = { requests: 0, tokens_input: 0, tokens_output: 0 }
  const perRequest = new Map<string, number>()
  const perRequestSum = new Map<string, number>()
  const perCounter = new Map<string, number>()
  for (const row of usage) {
    billed[row.metric] += Number(row.amount)
    const key = `${row.request_id}/${row.metric}`
    perRequest.set(key, (perRequest.get(key) ?? 0) + 1)
    perRequestSum.set(key, (perRequestSum.get(key) ?? 0) + Number(row.amount))
    const counter = `${row.subscription_id}/${row.metric}`
    perCounter.set(counter, (perCounter.get(counter) ?? 0) + Number(row.amount))
  }

  if (expect.served) {
    for (const metric of ['requests', 'tokens_input', 'tokens_output'] as const) {
      if (billed[metric] < expect.served[metric]) {
        violations.push(
          `served > billed: ${metric} upstream ${expect.served[metric]}, ledger ${billed[metric]}`,
        )
      }
    }
  }

  for (const [key, rows] of perRequest) {
    const [requestId, metric] = key.split('/') as [string, string]
    const sum = perRequestSum.get(key) ?? 0
    if (metric === 'requests' && sum !== 1)
      violations.push(`request ${requestId} billed ${sum} times`)
    if (rows > 2) violations.push(`request ${requestId} has ${rows} ${metric} rows`)
    if (sum < 0) violations.push(`request ${requestId} billed ${sum} ${metric}`)
  }

  const reservations = await db.selectFrom('billing_reservation').select('request_id').execute()
  if (reservations.length > 0) violations.push(`${reservations.length} reservations left`)
  const counters = byMetric(
    await db
      .selectFrom('billing_quota_counter')
      .select(['subscription_id', ...COUNTER_COLUMNS])
      .execute(),
  )
  const usedPerCounter = new Map<string, number>()
  for (const row of counters) {
    if (Number(row.reserved) !== 0) {
      violations.push(`counter ${row.subscription_id}/${row.metric} reserved ${row.reserved}`)
    }
    const key = `${row.subscription_id}/${row.metric}`
    usedPerCounter.set(key, (usedPerCounter.get(key) ?? 0) + Number(row.used))
  }
  for (const key of new Set([...usedPerCounter.keys(), ...perCounter.keys()])) {
    const used = usedPerCounter.get(key) ?? 0
    const sum = perCounter.get(key) ?? 0
    if (used !== sum) violations.push(`counter ${key} used ${used} != sum of usage rows ${sum}`)
  }

  const transactions = await db
    .selectFrom('billing_transaction')
    .select(['provider_payment_id', 'status', 'kind'])
    .where('kind', '!=', 'refund')
    .execute()
  const perPayment = new Map<string, string[]>()
  for (const row of transactions) {
    if (!row.provider_payment_id) continue
    perPayment.set(row.provider_payment_id, [
      ...(perPayment.get(row.provider_payment_id) ?? []),
      row.status,
    ])
  }
  for (const [id, statuses] of perPayment) {
    if (statuses.length > 1) violations.push(`payment ${id} has ${statuses.length} transactions`)
  }
  const credits = await db
    .selectFrom('billing_webhook_event')
    .select(['object_id', 'outcome'])
    .where('outcome', 'like', 'applied: credited%')
    .execute()
  const creditedPerPayment = new Map<string, number>()
  for (const row of credits) {
    creditedPerPayment.set(row.object_id!, (creditedPerPayment.get(row.object_id!) ?? 0) + 1)
  }
  for (const [id, n] of creditedPerPayment) {
    if (n > 1) violations.push(`payment ${id} credited ${n} times by notifications`)
  }
  for (const id of expect.paidPayments ?? []) {
    const statuses = perPayment.get(id) ?? []
    if (!statuses.includes('succeeded')) {
      violations.push(`payment ${id} paid but not credited (${statuses.join(',') || 'none'})`)
    }
  }
  violations.push(...(await auditPacks(db)))
  return { violations, billed }
}
