import { Worker } from 'node:worker_threads'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import type { Amounts } from '../../src/ledger/amounts.ts'
import type { ReserveResult } from '../../src/ledger/service.ts'
import type { Harness } from './harness.ts'
import { type Outcome, pacedReservations } from './paced.ts'

const script = new URL('./reserve-worker.ts', import.meta.url).pathname

export interface WorkerReservations {
  /** The worker starts its reservations at wall-clock `startAt`; resolves with their outcomes. */
  go(startAt: number): Promise<Outcome[]>
}

/** Starts a worker thread holding its own handle on h's database; resolves once it is ready. */
export async function startReserveWorker(
  h: Harness,
  entitlement: Entitlement,
  requestIds: string[],
  amounts: Amounts,
): Promise<WorkerReservations> {
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script)}) })`
  const worker = new Worker(bootstrap, {
    eval: true,
    workerData: {
      url: h.testDatabase.url,
      schema: h.testDatabase.schema,
      nowMs: h.clock.now(),
      quota: h.deps.config.quota,
      entitlement,
      requestIds,
      amounts,
    },
  })
  const failed = new Promise<never>((_, reject) => worker.once('error', reject))
  await Promise.race([new Promise((resolve) => worker.once('message', resolve)), failed])
  return {
    async go(startAt) {
      const done = new Promise<Outcome[]>((resolve) => worker.once('message', resolve))
      worker.postMessage({ startAt })
      try {
        return await Promise.race([done, failed])
      } finally {
        await worker.terminate()
      }
    },
  }
}

/**
 * Two processes reserving at once: the request ids at even positions reserved
 * by a worker thread (its own database handle and event loop), the others here
 * through `call`, both paced from the same wall-clock instant 200 ms ahead (time
 * for both to be ready). Resolves with [the worker's outcomes, ours].
 */
export async function reserveFromTwoThreads(
  h: Harness,
  entitlement: Entitlement,
  requestIds: string[],
  amounts: Amounts,
  call: (requestId: string) => Promise<ReserveResult>,
): Promise<[Outcome[], Outcome[]]> {
  const side = (parity: number) => requestIds.filter((_, i) => i % 2 === parity)
  const worker = await startReserveWorker(h, entitlement, side(0), amounts)
  const startAt = Date.now() + 200
  return Promise.all([worker.go(startAt), pacedReservations(startAt, side(1), call)])
}
