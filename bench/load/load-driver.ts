import { type LoadJob, runAutocannon } from './ac-job.ts'
import { createSlowStreams, type SlowOpenJob } from './slow-job.ts'
import { runStream, type StreamJob } from './stream-job.ts'

/**
 * The load generator, in its own process so that its CPU is never counted against a target and
 * the orchestrator's timers do not disturb it. bench/run.ts sends one job at a time over IPC.
 */
export type DriverJob =
  | ({ kind: 'autocannon' } & LoadJob)
  | ({ kind: 'stream' } & StreamJob)
  | ({ kind: 'slow-open' } & SlowOpenJob)
  | { kind: 'slow-wait'; timeoutMs: number }

const slow = createSlowStreams()

function run(job: DriverJob): Promise<unknown> {
  switch (job.kind) {
    case 'autocannon':
      return runAutocannon(job)
    case 'stream':
      return runStream(job)
    case 'slow-open':
      return slow.open(job)
    case 'slow-wait':
      return slow.wait(job.timeoutMs)
  }
}

process.on('message', (message: { id: number; job: DriverJob }) => {
  run(message.job).then(
    (result) => process.send?.({ id: message.id, result }),
    (error: Error) => process.send?.({ id: message.id, error: error.stack ?? String(error) }),
  )
})
process.send?.({ ready: true, port: 0 })
process.on('disconnect', () => process.exit(0))
