import type { SubscriptionRow } from '../../db/tables.ts'
import { findUser } from '../auth/users.repo.ts'
import { planFromRow } from '../billing/plan.ts'
import { findPlan } from '../billing/plans.repo.ts'
import { nowSeconds } from '../lib/clock.ts'
import type { CreatePaymentRequest, YooKassaClient } from '../yookassa/client.ts'
import { readMeta } from './apply-helpers.ts'
import { applyPayment } from './apply-payment.ts'
import { runForEach } from './job-pass.ts'
import { buildPaymentRequest } from './payment-request.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { listDueRenewals, renewalKey } from './renewals.repo.ts'
import { newTransactionRow } from './transaction-row.ts'
import {
  bindProviderId,
  findTransactionByKey,
  insertTransactionIfAbsent,
} from './transactions.repo.ts'

const BATCH = 100

/**
 * Charges subscriptions that renew automatically, `renewBeforeSeconds`
 * before their paid time ends, with the saved payment method. One charge per
 * subscription and period, however many replicas run this: the renewal row's
 * Idempotence-Key is derived from the subscription id and the period being
 * bought (its start = the current paid_until), the key column is unique, and
 * two replicas that both send it get the same payment back from YooKassa.
 * A failed (canceled) charge makes the subscription past_due for the grace
 * period; the period is not charged again (no dunning retries), and after
 * the grace the rollover returns the user to the default plan.
 */
export async function runRenewSubscriptions(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger' | 'yookassa'
  >,
) {
  const yookassa = deps.yookassa
  const counts = { due: 0, charged: 0, failed: 0, skipped: 0 }
  if (!yookassa) return counts
  const now = nowSeconds(deps.clock)
  const due = await listDueRenewals(deps.database.db, {
    now,
    dueBefore: now + deps.config.yookassa.renewBeforeSeconds,
    limit: BATCH,
  })
  const failed = {
    idKey: 'subscriptionId',
    message: 'BILLING renewal attempt failed, will retry',
  } as const
  await runForEach(deps, due, counts, failed, async (sub) => {
    counts.due++
    counts[await renewOne(deps, yookassa, sub, now)]++
  })
  if (counts.due > 0) deps.logger.info(counts, 'BILLING renewal pass')
  return counts
}

async function renewOne(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  yookassa: YooKassaClient,
  sub: SubscriptionRow,
  now: number,
): Promise<'charged' | 'failed' | 'skipped'> {
  const { db } = deps.database
  const planRow = await findPlan(db, sub.plan_id)
  const periodStart = sub.paid_until!
  if (!planRow?.is_active || planRow.price <= 0) return 'skipped'
  const plan = planFromRow(planRow)
  const key = renewalKey(sub.id, periodStart)

  const id = deps.ids.next()
  const user = await findUser(db, sub.user_id)
  const request = buildPaymentRequest({
    config: deps.config,
    plan,
    transactionId: id,
    userId: sub.user_id,
    kind: 'renewal',
    email: user?.email ?? null,
    paymentMethodId: sub.payment_method_id!,
  })
  const fresh = newTransactionRow({
    id,
    user_id: sub.user_id,
    plan_id: plan.id,
    kind: 'renewal',
    amount: plan.price,
    currency: plan.currency,
    idempotence_key: key,
    description: request.description,
    metadata: { subscription_id: sub.id, period_start: periodStart, request },
    now,
  })
  // Whoever inserts first owns the row; everyone else works on that same row and body.
  const row = (await insertTransactionIfAbsent(db, fresh))
    ? fresh
    : await findTransactionByKey(db, key)
  if (row?.status !== 'pending' || row.provider_payment_id) return 'skipped'

  const stored = readMeta(row).request as CreatePaymentRequest
  const payment = await yookassa.createPayment(stored, key)
  await bindProviderId(db, row.id, payment.id, now)
  const result = await applyPayment(
    deps,
    yookassa,
    { ...row, provider_payment_id: payment.id },
    payment,
  )
  deps.logger.info(
    {
      subscriptionId: sub.id,
      transactionId: row.id,
      paymentId: payment.id,
      outcome: result.outcome,
    },
    'BILLING renewal charged',
  )
  if (result.outcome === 'credited') return 'charged'
  if (result.outcome === 'canceled') return 'failed'
  return 'skipped'
}
