import type { TransactionRow } from '../../db/tables.ts'
import { nowSeconds } from '../lib/clock.ts'
import type { CreatePaymentRequest, YooKassaClient } from '../yookassa/client.ts'
import { readMeta } from './apply-helpers.ts'
import { applyPayment, expireTransaction } from './apply-payment.ts'
import { applyRefund } from './apply-refund.ts'
import { runForEach } from './job-pass.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { sendRefund } from './refund.service.ts'
import { bindProviderId, listOpenTransactions } from './transactions.repo.ts'

/** YooKassa remembers an Idempotence-Key for 24 h; replaying later would create a NEW payment. */
const KEY_REPLAY_WINDOW = 23 * 3600
const BATCH = 100

/**
 * A lost notification must not lose a payment. Every pass re-reads (GET) the
 * payments still open after `reconcileAfterSeconds` and applies what YooKassa
 * says, exactly as the webhook would; a row whose create call never got an
 * answer is replayed with its stored body and key (YooKassa returns the same
 * payment). Payments still pending after `expirePendingAfterSeconds` are
 * expired locally. Refunds are polled too: there is no refund.canceled event.
 * Safe on several replicas: every change is a conditional update.
 */
export async function runReconcilePayments(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger' | 'yookassa'
  >,
) {
  const yookassa = deps.yookassa
  const counts = { checked: 0, applied: 0, expired: 0, failed: 0 }
  if (!yookassa) return counts
  const now = nowSeconds(deps.clock)
  const createdBefore = now - deps.config.yookassa.reconcileAfterSeconds
  const { db } = deps.database

  const payments = await listOpenTransactions(db, {
    kinds: ['payment', 'renewal'],
    statuses: ['pending', 'waiting_for_capture'],
    createdBefore,
    limit: BATCH,
  })
  const paymentFailed = {
    idKey: 'transactionId',
    message: 'BILLING reconciliation of a payment failed, will retry',
  } as const
  await runForEach(deps, payments, counts, paymentFailed, async (row) => {
    counts.checked++
    const outcome = await reconcilePayment(deps, yookassa, row, now)
    if (outcome === 'applied') counts.applied++
    if (outcome === 'expired') counts.expired++
  })

  const refunds = await listOpenTransactions(db, {
    kinds: ['refund'],
    statuses: ['pending'],
    createdBefore,
    limit: BATCH,
  })
  const refundFailed = {
    idKey: 'transactionId',
    message: 'BILLING reconciliation of a refund failed, will retry',
  } as const
  await runForEach(deps, refunds, counts, refundFailed, async (row) => {
    counts.checked++
    if (row.provider_payment_id) {
      const result = await applyRefund(deps, await yookassa.getRefund(row.provider_payment_id))
      if (result.outcome === 'refunded' || result.outcome === 'canceled') counts.applied++
    } else if (now - row.created_at < KEY_REPLAY_WINDOW) {
      await sendRefund(deps, yookassa, row)
      counts.applied++
    } else if (await expireTransaction(deps, row, 'refund never reached YooKassa')) {
      counts.expired++
    }
  })
  if (counts.checked > 0) deps.logger.info(counts, 'BILLING reconciliation pass')
  return counts
}

async function reconcilePayment(
  deps: Pick<
    PaymentsDeps,
    'clock' | 'config' | 'database' | 'defaultPlan' | 'entitlements' | 'ids' | 'logger'
  >,
  yookassa: YooKassaClient,
  row: TransactionRow,
  now: number,
) {
  const age = now - row.created_at
  let payment: Awaited<ReturnType<YooKassaClient['getPayment']>>
  if (row.provider_payment_id) {
    payment = await yookassa.getPayment(row.provider_payment_id)
  } else {
    const request = readMeta(row).request as CreatePaymentRequest | undefined
    if (!request || !row.idempotence_key || age >= KEY_REPLAY_WINDOW) {
      return (await expireTransaction(deps, row, 'never reached YooKassa')) ? 'expired' : 'none'
    }
    // Same body, same key: YooKassa answers with the payment it created (or creates it now).
    // That answer is the payment as it was then; its current state comes from a GET.
    const replayed = await yookassa.createPayment(request, row.idempotence_key)
    await bindProviderId(deps.database.db, row.id, replayed.id, now)
    payment = await yookassa.getPayment(replayed.id)
  }
  const result = await applyPayment(
    deps,
    yookassa,
    { ...row, provider_payment_id: payment.id },
    payment,
  )
  if (result.outcome === 'waiting' && payment.status === 'pending') {
    if (age < deps.config.yookassa.expirePendingAfterSeconds) return 'none'
    return (await expireTransaction(deps, row, 'confirmation window passed')) ? 'expired' : 'none'
  }
  return result.outcome === 'credited' || result.outcome === 'canceled' ? 'applied' : 'none'
}
