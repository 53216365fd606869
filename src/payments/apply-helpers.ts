import type { Transaction } from 'kysely'
import type { DB, TransactionRow } from '../../db/tables.ts'
import { retryOnConflict } from '../billing/subscription-races.ts'
import type { PaymentsDeps } from './payments-deps.ts'

/**
 * Runs `work` in one short database transaction and retries it when the
 * subscription changed under it (optimistic guard): the whole transaction,
 * status move included, rolls back and runs again on fresh rows.
 */
export async function inTransaction<T>(
  deps: Pick<PaymentsDeps, 'database'>,
  work: (trx: Transaction<DB>) => Promise<T>,
): Promise<T> {
  return retryOnConflict(() => deps.database.db.transaction().execute(work))
}

export type TransactionMeta = Record<string, unknown>

export function readMeta(row: Pick<TransactionRow, 'metadata'>): TransactionMeta {
  try {
    const parsed = JSON.parse(row.metadata) as unknown
    return parsed && typeof parsed === 'object' ? (parsed as TransactionMeta) : {}
  } catch {
    return {}
  }
}

export function mergeMeta(row: Pick<TransactionRow, 'metadata'>, extra: TransactionMeta): string {
  return JSON.stringify({ ...readMeta(row), ...extra })
}
