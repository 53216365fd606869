import { rollOverEndedSubscriptions } from './billing/rollover.job.ts'
import type { Deps } from './deps.ts'
import { runExpirePacks } from './ledger/packs/expire-packs.job.ts'
import { runUsageRetention } from './ledger/usage-retention.job.ts'
import { deliverOutbox } from './notify/deliver.job.ts'
import { pruneWebhookEvents } from './payments/prune-webhook-events.job.ts'
import { runReconcilePayments } from './payments/reconcile.job.ts'
import { runRenewSubscriptions } from './payments/renewals.job.ts'
import { pruneStoredObjects } from './pipeline/stored/prune-stored-objects.job.ts'

export interface Job {
  name: string
  run(deps: Deps): Promise<unknown>
}

/**
 * The background jobs; each is safe to run on several replicas at once. The
 * reservation sweep is not here: it runs with the heartbeat (ledger/liveness.job.ts),
 * every few seconds, so a crashed process's requests are billed promptly.
 */
export const JOBS: Job[] = [
  { name: 'rollover-subscriptions', run: rollOverEndedSubscriptions },
  { name: 'reconcile-payments', run: runReconcilePayments },
  { name: 'renew-subscriptions', run: runRenewSubscriptions },
  { name: 'prune-webhook-events', run: pruneWebhookEvents },
  { name: 'prune-stored-objects', run: pruneStoredObjects },
  { name: 'expire-packs', run: runExpirePacks },
  // After the rollover: the prune keeps the rows of each live subscription's current period.
  { name: 'roll-up-usage', run: runUsageRetention },
  // Last: the events the jobs above recorded (failed renewals) leave in the same pass.
  { name: 'deliver-webhooks', run: deliverOutbox },
]

/**
 * Runs every job every `jobs.intervalMs`, one pass at a time. Correctness never
 * depends on it (periods roll over lazily on read); it only keeps things tidy.
 */
export function startJobs(deps: Deps, jobs: Job[] = JOBS) {
  let running: Promise<void> = Promise.resolve()
  const tick = () => {
    running = running.then(async () => {
      for (const job of jobs) {
        try {
          await job.run(deps)
        } catch (error) {
          deps.logger.error({ err: error, job: job.name }, 'background job failed')
        }
      }
    })
  }
  const timer = deps.config.jobs.enabled ? setInterval(tick, deps.config.jobs.intervalMs) : null
  timer?.unref()
  return {
    stop: () => {
      if (timer) clearInterval(timer)
    },
    done: () => running,
  }
}
