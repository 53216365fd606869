import type { SubscriptionRow } from '../../db/tables.ts'

/**
 * A subscription as the API shows it (docs/reference/API.md): booleans as booleans, plus
 * paid_until (end of the time paid for; null on the default plan). Internal
 * columns (version, period_anchor, grace_until, payment_method_id) stay inside.
 */
export function subscriptionToJson(row: SubscriptionRow) {
  return {
    id: row.id,
    user_id: row.user_id,
    plan_id: row.plan_id,
    status: row.status,
    current_period_start: row.current_period_start,
    current_period_end: row.current_period_end,
    cancel_at_period_end: Boolean(row.cancel_at_period_end),
    auto_renew: Boolean(row.auto_renew),
    paid_until: row.paid_until,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }
}
