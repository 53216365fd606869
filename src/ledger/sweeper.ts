import type { Deps } from '../deps.ts'
import { nowSeconds } from '../lib/clock.ts'
import { zeroAmounts } from './amounts.ts'
import { forgetSilentInstances } from './instances.repo.ts'
import { sweepPackReservations } from './packs/pack-sweep.ts'
import { findStaleReservations, type HeldReservation } from './reservations.repo.ts'
import { closeReservation, release, settle } from './service.ts'

/** Rows per pass; a pass runs every heartbeat (src/ledger/liveness.job.ts), so a backlog clears quickly. */
const BATCH = 500
/** A process silent this long is forgotten (kept meanwhile to tell when it died). */
const FORGET_AFTER_SECONDS = 86_400

export interface SweepResult {
  /** Sent requests of dead processes, billed as estimated. */
  settled: number
  /** Never-sent (or ownerless, expired) reservations returned unused. */
  released: number
}

/**
 * Ends the reservations nobody else will end (README.md here, invariant 5: what a crash leaves):
 *
 * - first, this process's own settles and releases that the database refused;
 * - then those of processes whose heartbeat stopped (ownerDeadAfterSeconds):
 *   a request that was sent upstream is billed as estimated (requests 1, the
 *   input estimate, the output reserve, token rows flagged `estimated`): the
 *   upstream served or is serving it and will charge for it, and what it
 *   really used died with the process; one never sent is released;
 * - last, rows without an owner (written before migration 0002) older than
 *   reservationTtlSeconds, the only ones that still expire by age.
 *
 * A live process's reservations are never taken, however long its request
 * runs. Every close goes through the ledger's batched close, which deletes
 * the row first: several processes may sweep at once and each row ends once.
 */
export async function sweepStaleReservations(
  deps: Pick<Deps, 'clock' | 'config' | 'database' | 'ids' | 'instance' | 'ledger' | 'logger'>,
): Promise<SweepResult> {
  await retryUnfinishedCloses(deps)
  const { db } = deps.database
  const now = nowSeconds(deps.clock)
  const { quota } = deps.config
  const stale = await findStaleReservations(db, {
    self: deps.instance.id,
    deadBefore: now - quota.ownerDeadAfterSeconds,
    ttlBefore: now - quota.reservationTtlSeconds,
    limit: BATCH,
  })
  const result = await endReservations(deps, stale)
  const bounds = { self: deps.instance.id, deadBefore: now - quota.ownerDeadAfterSeconds, now }
  const packs = await sweepPackReservations(db, { ...bounds, limit: BATCH }, () => deps.ids.next())
  result.settled += packs.settled
  result.released += packs.released
  if (result.settled + result.released > 0) {
    deps.logger.warn(
      { ...result, requestIds: stale.map((row) => row.request_id), packs },
      `BILLING swept the reservations of dead gateway processes: ${result.settled} sent, billed as estimated; ${result.released} released`,
    )
  }
  await forgetSilentInstances(db, now - FORGET_AFTER_SECONDS)
  return result
}

/**
 * Ends reservations whose owner is dead: a sent one is billed as estimated,
 * one never sent is released. Each ends once, whoever else sweeps it too.
 */
export async function endReservations(
  deps: Pick<Deps, 'clock' | 'ids' | 'ledger'>,
  rows: HeldReservation[],
): Promise<SweepResult> {
  const result: SweepResult = { settled: 0, released: 0 }
  const closes = Promise.all(
    rows.map(async (row) => {
      const sent = row.sent_at !== null
      const actual = sent
        ? {
            requests: row.requests,
            tokens_input: row.tokens_input,
            tokens_output: row.tokens_output,
          }
        : zeroAmounts()
      // Whether its plan had rate windows is not known here: the close that moves them
      // serves a reservation without any as well (it finds no holds).
      const closed = await closeReservation(deps, row.request_id, actual, sent, { windowed: true })
      if (closed && sent) result.settled++
      else if (closed) result.released++
    }),
  )
  deps.ledger.hurry() // these closes are one batch, with no reserve to wait for
  await closes
  return result
}

/** Retries, in order, the closes the database refused; stops at the first that fails again. */
export async function retryUnfinishedCloses(
  deps: Pick<Deps, 'clock' | 'database' | 'ids' | 'instance' | 'ledger' | 'logger'>,
) {
  for (const [requestId, close] of [...deps.instance.unfinished]) {
    try {
      const write =
        close.identity || close.actual.requests > 0
          ? settle(deps, requestId, close.actual, close)
          : release(deps, requestId)
      // One at a time, in order: none waits for company (ledger/store.ts, the close window).
      deps.ledger.hurry()
      await write
    } catch (error) {
      deps.logger.error({ err: error, requestId }, 'BILLING retrying an unfinished settle failed')
      return
    }
    deps.logger.info({ requestId }, 'BILLING an unfinished settle landed')
  }
}
