import { parentPort } from 'node:worker_threads'
import { countFrom, type Tokenizer, tokenizerOfFamily } from './tokenizer.ts'

/*
 * The counting thread (token-pool.ts starts it). It holds at most one job per
 * user and counts them in turns of TURN_MS each, round robin, so a user's huge
 * text slows another user's count by at most one turn per job ahead of it in
 * the ring, never by the whole text.
 */
const TURN_MS = 5

interface Job {
  id: number
  tokenizer: Tokenizer
  /** The chunks received and not yet counted; the first is being counted from `next`. */
  chunks: string[]
  next: number
  tokens: number
  /** The last chunk has arrived. */
  complete: boolean
}

/** One chunk of a text (token-pool.ts sends a long text in chunks, so no message is long to copy). */
export interface CountRequest {
  id: number
  family: Tokenizer['family']
  chunk: string
  last: boolean
}

export interface CountReply {
  id: number
  /** Raw BPE tokens (the main thread applies the family's scale). */
  tokens: number
}

const jobs: Job[] = []
let turn = 0
let running = false

parentPort?.on('message', (request: CountRequest) => {
  let job = jobs.find((j) => j.id === request.id)
  if (!job) {
    const tokenizer = tokenizerOfFamily(request.family)
    job = { id: request.id, tokenizer, chunks: [], next: 0, tokens: 0, complete: false }
    jobs.push(job)
  }
  job.chunks.push(request.chunk)
  job.complete = request.last
  if (!running) {
    running = true
    setImmediate(runTurn)
  }
})

/** One turn of the next job that has text to count, then back to the event loop (new chunks arrive between turns). */
function runTurn() {
  const job = nextRunnable()
  if (!job) {
    running = false
    return
  }
  const chunk = job.chunks[0]!
  // A chunk's edges are cuts, like a long piece's: a token or none more (token-pool.ts).
  const counted = countFrom(job.tokenizer.count, chunk, job.next, performance.now() + TURN_MS)
  job.tokens += counted.tokens
  job.next = counted.next
  if (job.next >= chunk.length) {
    job.chunks.shift()
    job.next = 0
  }
  if (job.complete && job.chunks.length === 0) {
    jobs.splice(jobs.indexOf(job), 1)
    parentPort?.postMessage({ id: job.id, tokens: job.tokens } satisfies CountReply)
  }
  setImmediate(runTurn)
}

/** Round robin over the jobs that have a chunk waiting. */
function nextRunnable(): Job | undefined {
  for (let tried = 0; tried < jobs.length; tried++) {
    turn = (turn + 1) % jobs.length
    const job = jobs[turn]!
    if (job.chunks.length > 0) return job
  }
  return undefined
}
