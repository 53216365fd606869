import type { Kysely } from 'kysely'
import type { DB } from '../../db/tables.ts'

/**
 * The audit's part for prepaid packs (audit.ts, property 6; docs/quotas.md,
 * "Prepaid packs"): per pack held, its append-only entries sum to its balance
 * (`remaining`), one credit of the amount sold, no spend beyond that credit, the
 * balance never below what requests in flight hold nor below zero, no pack
 * reservation left, and every succeeded pack payment credited to exactly one pack.
 */
export async function auditPacks(db: Kysely<DB>): Promise<string[]> {
  const violations: string[] = []
  const holdings = await db.selectFrom('billing_pack_holding').selectAll().execute()
  const entries = await db.selectFrom('billing_pack_entry').selectAll().execute()
  const reservations = await db.selectFrom('billing_pack_reservation').selectAll().execute()
  if (reservations.length > 0) violations.push(`${reservations.length} pack reservations left`)
  for (const holding of holdings) {
    const own = entries.filter((entry) => entry.holding_id === holding.id)
    const sum = own.reduce((total, entry) => total + Number(entry.amount), 0)
    const credits = own.filter((entry) => entry.kind === 'credit')
    const credited = credits.reduce((total, entry) => total + Number(entry.amount), 0)
    const spent = -own
      .filter((entry) => entry.kind === 'spend')
      .reduce((total, entry) => total + Number(entry.amount), 0)
    const name = `pack ${holding.id}`
    if (sum !== Number(holding.remaining)) {
      violations.push(`${name} entries sum to ${sum} != balance ${holding.remaining}`)
    }
    if (credits.length !== 1 || credited !== Number(holding.amount)) {
      violations.push(`${name} credited ${credits.length} times, ${credited} of ${holding.amount}`)
    }
    if (spent > credited) violations.push(`${name} spent ${spent} > credited ${credited}`)
    if (Number(holding.remaining) < Number(holding.reserved) || Number(holding.reserved) < 0) {
      violations.push(`${name} balance ${holding.remaining} below reserved ${holding.reserved}`)
    }
    const held = reservations
      .filter((row) => row.holding_id === holding.id)
      .reduce((total, row) => total + Number(row.amount), 0)
    if (held !== Number(holding.reserved)) {
      violations.push(`${name} reserved ${holding.reserved} != its reservations ${held}`)
    }
  }
  const paid = await db
    .selectFrom('billing_transaction')
    .select(['id', 'status'])
    .where('pack_id', 'is not', null)
    .where('kind', '=', 'payment')
    .where('status', 'in', ['succeeded', 'refunded'])
    .execute()
  for (const payment of paid) {
    const bought = holdings.filter((holding) => holding.transaction_id === payment.id)
    if (bought.length !== 1) {
      violations.push(`pack payment ${payment.id} credited ${bought.length} packs`)
    }
  }
  return violations
}
