import type { Deps } from '../deps.ts'
import { nowSeconds } from '../lib/clock.ts'
import { beat, retire } from './instances.repo.ts'
import { retryUnfinishedCloses, sweepStaleReservations } from './sweeper.ts'

export interface Liveness {
  /** One heartbeat (and sweep, when enabled) now: what the timer does every heartbeatIntervalMs. */
  tick(): Promise<void>
  /** Stops the timer, waits for a running tick, and removes this process from gateway_instance. */
  stop(): Promise<void>
}

/**
 * This process's heartbeat: every `quota.heartbeatIntervalMs` it writes its
 * instance row, then (with jobs enabled) sweeps the reservations of processes
 * that stopped beating, so a crash is billed within ownerDeadAfterSeconds plus
 * one interval rather than after the TTL. The first beat is written before
 * this resolves: the process must be known alive before it reserves anything,
 * or another process's sweeper would take its first reservations for a dead
 * owner's. It runs whether or not the other jobs do: a process that does not
 * beat is dead to the others.
 */
export async function startLiveness(
  deps: Pick<Deps, 'clock' | 'config' | 'database' | 'ids' | 'instance' | 'ledger' | 'logger'>,
  options: { sweep: boolean },
): Promise<Liveness> {
  const { db } = deps.database
  const id = deps.instance.id
  await beat(db, id, nowSeconds(deps.clock))
  let running: Promise<void> | null = null

  const tick = async () => {
    try {
      await beat(db, id, nowSeconds(deps.clock))
      // Its own refused closes always; other processes' reservations only where jobs run.
      if (options.sweep) await sweepStaleReservations(deps)
      else await retryUnfinishedCloses(deps)
    } catch (error) {
      deps.logger.error({ err: error }, 'heartbeat or reservation sweep failed')
    }
  }
  const timer = setInterval(() => {
    // A tick slower than the interval (a slow database) is not stacked up behind itself.
    running ??= tick().finally(() => {
      running = null
    })
  }, deps.config.quota.heartbeatIntervalMs)
  timer.unref()

  return {
    tick: async () => {
      await running
      await tick()
    },
    async stop() {
      clearInterval(timer)
      await running
      try {
        await retire(db, id)
      } catch (error) {
        deps.logger.error({ err: error }, 'could not remove this process from gateway_instance')
      }
    },
  }
}
