import type { PaymentsDeps } from './payments-deps.ts'

/**
 * One pass of a payments job (renewals, reconciliation) over a batch of rows.
 * A row that fails is counted and logged and stays for the next pass, which is
 * safe because every change is a conditional update; one row never stops the
 * rest of the batch.
 */
export async function runForEach<Row extends { id: string }>(
  deps: Pick<PaymentsDeps, 'logger'>,
  rows: readonly Row[],
  counts: { failed: number },
  failure: { idKey: 'transactionId' | 'subscriptionId'; message: string },
  run: (row: Row) => Promise<void>,
): Promise<void> {
  for (const row of rows) {
    try {
      await run(row)
    } catch (error) {
      counts.failed++
      deps.logger.warn({ err: error, [failure.idKey]: row.id }, failure.message)
    }
  }
}
