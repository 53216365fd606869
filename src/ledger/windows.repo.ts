import { sql } from 'kysely'
import type { Db } from '../../db/tables.ts'

const HOUR = 3600
const DAY = 86_400

/**
 * Deletes the rate windows' counter rows that can no longer admit anything: minute
 * windows older than an hour, day windows before yesterday (windows.ts). A request
 * still running from such a window settles into no row, which changes nothing: its
 * window is over. Returns how many rows went.
 */
export async function pruneWindows(db: Db, now: number): Promise<number> {
  const today = now - (now % DAY)
  const result = await sql`
    DELETE FROM billing_quota_counter
    WHERE (metric IN ('requests_per_minute', 'tokens_per_minute')
        AND period_start < ${now - HOUR})
      OR (metric IN ('requests_per_day', 'tokens_per_day') AND period_start < ${today - DAY})`.execute(
    db,
  )
  return Number(result.numAffectedRows ?? 0)
}
