import type { Db } from '../../../db/tables.ts'
import { METRICS, type Metric } from '../amounts.ts'
import { listEntries, listHoldings } from './holdings.repo.ts'

export type PackStatus = 'active' | 'expired' | 'refunded' | 'used'

/**
 * A user's prepaid packs as /me, /billing and the console show them: the
 * spendable balance per metric (unexpired, open packs: what is left, less what
 * requests in flight hold), each pack with its expiry, and the latest entries.
 */
export async function readUserPacks(db: Db, userId: string, now: number, historyLimit = 50) {
  const holdings = await listHoldings(db, userId)
  const balance = Object.fromEntries(METRICS.map((m) => [m, 0])) as Record<Metric, number>
  const packs = holdings.map((holding) => {
    const status = statusOf(holding, now)
    if (status === 'active') balance[holding.metric] += holding.remaining - holding.reserved
    return {
      id: holding.id,
      pack_id: holding.pack_id,
      metric: holding.metric,
      amount: holding.amount,
      remaining: holding.remaining,
      reserved: holding.reserved,
      valid_until: holding.valid_until,
      status,
      price: holding.price,
      currency: holding.currency,
      transaction_id: holding.transaction_id,
      created_at: holding.created_at,
    }
  })
  const history = (await listEntries(db, userId, historyLimit)).map((entry) => ({
    id: entry.id,
    pack: entry.holding_id,
    kind: entry.kind,
    amount: entry.amount,
    request_id: entry.request_id,
    created_at: entry.created_at,
  }))
  return { balance, packs, history }
}

export type UserPacks = Awaited<ReturnType<typeof readUserPacks>>

function statusOf(
  holding: { closed_reason: string | null; valid_until: number; remaining: number },
  now: number,
): PackStatus {
  if (holding.closed_reason === 'refund') return 'refunded'
  if (holding.closed_reason === 'expiry' || holding.valid_until <= now) return 'expired'
  if (holding.remaining <= 0) return 'used'
  return 'active'
}
