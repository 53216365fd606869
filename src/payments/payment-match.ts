import type { TransactionRow } from '../../db/tables.ts'
import type { Payment } from '../yookassa/schemas.ts'

/**
 * Does the payment YooKassa showed us (by GET, never the notification body)
 * belong to this transaction? Every field that decides money is compared:
 * amount in kopecks and currency, our transaction id in metadata, the shop
 * that received it, and the test flag against the policy (test-payments.ts: a test-shop
 * payment never credits a live gateway unless explicitly allowed).
 * Returns the reasons it does not match; empty means it does.
 */
export function paymentMismatches(
  transaction: Pick<TransactionRow, 'id' | 'amount' | 'currency'>,
  payment: Payment,
  policy: { shopId: string; allowTestPayments: boolean },
): string[] {
  const problems: string[] = []
  if (payment.amount.kopecks !== transaction.amount) {
    problems.push(`amount ${payment.amount.kopecks} != expected ${transaction.amount} (kopecks)`)
  }
  if (payment.amount.currency !== transaction.currency) {
    problems.push(`currency ${payment.amount.currency} != expected ${transaction.currency}`)
  }
  if (payment.metadata?.transaction_id !== transaction.id) {
    problems.push('metadata.transaction_id does not name this transaction')
  }
  if (payment.recipient?.account_id !== policy.shopId) {
    problems.push('recipient.account_id is not this shop')
  }
  if (payment.test && !policy.allowTestPayments) {
    problems.push('test payment while test payments are not allowed')
  }
  return problems
}
