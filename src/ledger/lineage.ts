import type { Deps } from '../deps.ts'
import { nowSeconds } from '../lib/clock.ts'
import { findPredecessors, retire, setInstanceName } from './instances.repo.ts'
import { endPackReservationsOf } from './packs/pack-sweep.ts'
import { findReservationsOf } from './reservations.repo.ts'
import { endReservations, type SweepResult } from './sweeper.ts'

/** Rows closed per statement batch while taking over a predecessor's reservations. */
const BATCH = 500

type LineageDeps = Pick<Deps, 'clock' | 'database' | 'ids' | 'instance' | 'ledger' | 'logger'>

/**
 * A process restarted after a crash (kill -9, OOM) ends its predecessor's
 * reservations at once instead of waiting for the sweepers to see the
 * predecessor dead (ownerDeadAfterSeconds plus a heartbeat), during which they
 * still count toward the user's max_concurrent_requests.
 *
 * Its predecessor is the process that last held the same address: `name` is
 * the host name and the socket the process listens on (start-gateway.ts), so
 * only one live process holds it, and it is recorded only after the socket is
 * bound. A process that stops cleanly gives the name up (giveUpAddress) before
 * it closes its socket, while its last requests drain: a successor that binds
 * the freed socket meanwhile never takes a live process's reservations.
 *
 * As the sweeper: sent requests are billed as estimated, the rest released,
 * each reservation ends once whoever else sweeps it too, and the
 * predecessor's instance row goes last.
 */
export async function takeOverAddress(deps: LineageDeps, name: string): Promise<SweepResult> {
  const { db } = deps.database
  const self = deps.instance.id
  await setInstanceName(db, self, name)
  const total: SweepResult = { settled: 0, released: 0 }
  for (const predecessor of await findPredecessors(db, name, self)) {
    for (;;) {
      const rows = await findReservationsOf(db, predecessor, BATCH)
      if (rows.length === 0) break
      const result = await endReservations(deps, rows)
      total.settled += result.settled
      total.released += result.released
      // Rows found yet none ended by this process: another one is ending them; never spin.
      if (result.settled + result.released === 0) break
    }
    const packs = await endPackReservationsOf(db, predecessor, nowSeconds(deps.clock), () =>
      deps.ids.next(),
    )
    total.settled += packs.settled
    total.released += packs.released
    await retire(db, predecessor)
  }
  if (total.settled + total.released > 0) {
    deps.logger.warn(
      { ...total, address: name },
      `BILLING took over the reservations of the dead process that listened here before: ${total.settled} sent, billed as estimated; ${total.released} released`,
    )
  }
  return total
}

/** A clean stop: no successor on this address may take what this process still drains. */
export async function giveUpAddress(deps: Pick<Deps, 'database' | 'instance'>): Promise<void> {
  await setInstanceName(deps.database.db, deps.instance.id, null)
}
