import type { Db, TransactionRow, TransactionStatus } from '../../db/tables.ts'

/**
 * billing_transaction: one row per payment, renewal charge or refund. The
 * row is written BEFORE the YooKassa call, with the call's Idempotence-Key,
 * so a crash between the call and its answer can be repaired by replaying
 * the same request with the same key. provider_payment_id is unique: the
 * YooKassa payment (or refund) id maps to exactly one row.
 */
export async function insertTransaction(db: Db, row: TransactionRow): Promise<void> {
  await db.insertInto('billing_transaction').values(row).execute()
}

/** Inserts unless the idempotence key (or provider id) exists already; true when this call inserted. */
export async function insertTransactionIfAbsent(db: Db, row: TransactionRow): Promise<boolean> {
  const result = await db
    .insertInto('billing_transaction')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0
}

export async function findTransaction(db: Db, id: string) {
  return db.selectFrom('billing_transaction').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function findTransactionByProviderId(db: Db, providerId: string) {
  return db
    .selectFrom('billing_transaction')
    .selectAll()
    .where('provider_payment_id', '=', providerId)
    .executeTakeFirst()
}

export async function findTransactionByKey(db: Db, idempotenceKey: string) {
  return db
    .selectFrom('billing_transaction')
    .selectAll()
    .where('idempotence_key', '=', idempotenceKey)
    .executeTakeFirst()
}

/** Records the YooKassa id once; a row already bound to another id is left alone (false). */
export async function bindProviderId(db: Db, id: string, providerId: string, now: number) {
  const result = await db
    .updateTable('billing_transaction')
    .set({ provider_payment_id: providerId, updated_at: now })
    .where('id', '=', id)
    .where('provider_payment_id', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/**
 * Keeps the payment page's address on a checkout still pending, so the payer can go back to it
 * ("continue to payment"). Conditional on the metadata the caller read: a notification that
 * changed the row meanwhile wins, and this write is simply skipped.
 */
export async function saveConfirmationUrl(
  db: Db,
  id: string,
  readMetadata: string,
  metadata: string,
): Promise<void> {
  await db
    .updateTable('billing_transaction')
    .set({ metadata })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('metadata', '=', readMetadata)
    .execute()
}

/**
 * The exactly-once guard: moves the row to `to` only if it is still in one of
 * `from`. On PostgreSQL a concurrent writer blocks on the row and then sees
 * the new status (0 rows); on SQLite writers are serialised. Whoever gets
 * true does the follow-up (subscription change) in the same transaction.
 */
export async function moveTransactionStatus(
  db: Db,
  id: string,
  from: readonly TransactionStatus[],
  to: TransactionStatus,
  changes: {
    metadata?: string
    provider_payment_id?: string
    refunded_amount?: number
    now: number
  },
): Promise<boolean> {
  const { now, ...rest } = changes
  const result = await db
    .updateTable('billing_transaction')
    .set({ ...rest, status: to, updated_at: now })
    .where('id', '=', id)
    .where('status', 'in', [...from])
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/**
 * Adds a succeeded refund to its payment row atomically (refunded_amount is
 * never read-modified-written) and marks it refunded; the caller already won
 * the refund row's own guard, so this runs once per refund.
 */
export async function addRefundedAmount(db: Db, id: string, kopecks: number, now: number) {
  const result = await db
    .updateTable('billing_transaction')
    .set((eb) => ({
      refunded_amount: eb('refunded_amount', '+', kopecks),
      status: 'refunded' as const,
      updated_at: now,
    }))
    .where('id', '=', id)
    .where('status', 'in', ['succeeded', 'refunded'])
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** A caller's transactions, newest first (ids are UUIDv7, so id order is time order). */
export async function listTransactions(
  db: Db,
  { userId, limit, before }: { userId?: string; limit: number; before?: string },
) {
  let query = db.selectFrom('billing_transaction').selectAll()
  if (userId !== undefined) query = query.where('user_id', '=', userId)
  if (before !== undefined) query = query.where('id', '<', before)
  return query.orderBy('id', 'desc').limit(limit).execute()
}

/** Rows the reconciliation job re-reads: still open and older than `createdBefore`. */
export async function listOpenTransactions(
  db: Db,
  {
    kinds,
    statuses,
    createdBefore,
    limit,
  }: {
    kinds: TransactionRow['kind'][]
    statuses: TransactionStatus[]
    createdBefore: number
    limit: number
  },
) {
  return db
    .selectFrom('billing_transaction')
    .selectAll()
    .where('kind', 'in', kinds)
    .where('status', 'in', statuses)
    .where('created_at', '<=', createdBefore)
    .orderBy('created_at')
    .limit(limit)
    .execute()
}

/** Refund rows of one payment transaction still waiting for YooKassa. */
export async function countPendingRefunds(db: Db, paymentTransactionId: string): Promise<number> {
  const rows = await db
    .selectFrom('billing_transaction')
    .select('id')
    .where('parent_id', '=', paymentTransactionId)
    .where('kind', '=', 'refund')
    .where('status', '=', 'pending')
    .execute()
  return rows.length
}

/** Transactions by YooKassa id (payments and refunds): the console's webhook rows link to them. */
export async function findTransactionsByProviderIds(db: Db, providerIds: string[]) {
  if (providerIds.length === 0) return []
  return db
    .selectFrom('billing_transaction')
    .select(['id', 'user_id', 'kind', 'provider_payment_id'])
    .where('provider_payment_id', 'in', providerIds)
    .execute()
}
