import { sql } from 'kysely'
import type { Db } from '../../db/tables.ts'
import type { RateWindow } from './quotas.ts'
import type { WindowAsk } from './store.types.ts'

/** The counters of the windows `asked` names (windows.ts), to tell which one refused. */
export async function readWindows(db: Db, subscriptionId: string, asked: WindowAsk) {
  const rows = await db
    .selectFrom('billing_rate_window')
    .select(['kind', 'used', 'reserved'])
    .where('subscription_id', '=', subscriptionId)
    .where((eb) =>
      eb.or(asked.map((w) => eb.and([eb('kind', '=', w.kind), eb('window_start', '=', w.start)]))),
    )
    .execute()
  return rows.map((row) => ({
    kind: row.kind as RateWindow,
    used: Number(row.used),
    reserved: Number(row.reserved),
  }))
}

/** A window this long over can admit nothing more; a request still running from it settles into no row. */
const KEEP_AFTER_END_SECONDS = 3600

/**
 * Deletes the rate windows that ended over an hour ago, and the holds no reservation
 * owns any more (a close without its windows' flag, which no path of ours sends) once
 * their window is a day old. Returns how many rows went.
 */
export async function pruneWindows(db: Db, now: number): Promise<number> {
  const windows = await db
    .deleteFrom('billing_rate_window')
    .where('window_end', '<', now - KEEP_AFTER_END_SECONDS)
    .executeTakeFirst()
  const holds = await db
    .deleteFrom('billing_rate_window_hold')
    .where('window_start', '<', now - 2 * 86_400)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('billing_reservation')
            .select(sql`1`.as('one'))
            .whereRef('billing_reservation.request_id', '=', 'billing_rate_window_hold.request_id'),
        ),
      ),
    )
    .executeTakeFirst()
  return Number(windows.numDeletedRows) + Number(holds.numDeletedRows)
}
