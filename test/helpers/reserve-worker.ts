/**
 * Runs in a worker thread: a second gateway's ledger on its own database handle
 * and event loop, as a second process would have. (Two better-sqlite3 handles on
 * one thread cannot model two processes: SQLite's busy wait blocks the only
 * event loop while the other handle's transaction waits on it.)
 */
import { parentPort, workerData } from 'node:worker_threads'
import { createDb } from '../../db/client.ts'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import type { Deps } from '../../src/deps.ts'
import type { Amounts } from '../../src/ledger/amounts.ts'
import { createInstance } from '../../src/ledger/instance.ts'
import { reserve } from '../../src/ledger/service.ts'
import { createLedgerStore } from '../../src/ledger/store.ts'
import { pacedReservations } from './paced.ts'

interface Job {
  url: string
  schema?: string
  nowMs: number
  quota: Deps['config']['quota']
  entitlement: Entitlement
  requestIds: string[]
  amounts: Amounts
}

const job = workerData as Job
const database = createDb(job.url, { schema: job.schema })
// reserve() needs only the database, the ledger's writes, the clock, the instance and the
// quota config of Deps.
const ledger = createLedgerStore(database)
const instance = createInstance()
const clock = { now: () => job.nowMs }
const config = { quota: job.quota }
const deps = { database, ledger, instance, clock, config } as unknown as Deps

parentPort!.once('message', async ({ startAt }: { startAt: number }) => {
  const results = await pacedReservations(startAt, job.requestIds, (requestId) =>
    reserve(deps, job.entitlement, { requestId, amounts: job.amounts }),
  )
  await database.close()
  parentPort!.postMessage(results)
})
// Connect before saying ready: a first connection to a busy PostgreSQL can take longer than
// the whole race, and the other side would win every reservation before this one starts.
await database.db.selectFrom('billing_quota_counter').select('subscription_id').limit(1).execute()
parentPort!.postMessage('ready')
