import { type Child, startNode, waitForPort } from '../proc/processes.ts'
import type { LoadResult } from './ac-job.ts'
import type { DriverJob } from './load-driver.ts'
import type { SlowOpenResult, SlowWaitResult } from './slow-job.ts'
import type { StreamResult } from './stream-job.ts'

type ResultOf<K extends DriverJob['kind']> = K extends 'autocannon'
  ? LoadResult
  : K extends 'stream'
    ? StreamResult
    : K extends 'slow-open'
      ? SlowOpenResult
      : SlowWaitResult

export interface Driver {
  child: Child
  run<J extends DriverJob>(job: J): Promise<ResultOf<J['kind']>>
}

/** Starts bench/load/load-driver.ts and sends it jobs, one reply per job id. */
export async function startDriver(): Promise<Driver> {
  const child = startNode('load driver', 'bench/load/load-driver.ts', { ipc: true })
  await waitForPort(child)
  let nextId = 0
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  child.proc.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
    if (message.id === undefined) return
    const waiter = pending.get(message.id)
    pending.delete(message.id)
    if (message.error) waiter?.reject(new Error(message.error))
    else waiter?.resolve(message.result)
  })
  child.proc.once('exit', () => {
    for (const waiter of pending.values())
      waiter.reject(new Error(`load driver exited\n${child.tail()}`))
    pending.clear()
  })
  return {
    child,
    run<J extends DriverJob>(job: J) {
      const id = ++nextId
      return new Promise<ResultOf<J['kind']>>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        child.proc.send({ id, job })
      })
    },
  }
}
