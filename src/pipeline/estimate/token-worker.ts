import { readlinkSync } from 'node:fs'
import { constants, setPriority } from 'node:os'
import { parentPort } from 'node:worker_threads'
import { GatewayError } from '../../http/errors.ts'
import { DomainError } from '../../lib/errors.ts'
import {
  leanMediaFields,
  type MediaRequest,
  type MediaRoute,
  parseMediaBody,
} from '../media/media-request.ts'
import type { Endpoint } from '../request/endpoint.ts'
import { leanBody } from '../request/lean-body.ts'
import { parseProxyBody, upstreamBody } from '../request/parse.ts'
import { applyStorePolicy } from '../stored/store-policy.ts'
import { type Reference, referencedIds } from '../stored/stored-ids.ts'
import { collectInput, type InputEstimate } from './estimate.ts'
import { estimateMedia } from './media-estimate.ts'
import {
  countFrom,
  scaled,
  type Tokenizer,
  tokenizerForModel,
  tokenizerOfFamily,
} from './tokenizer.ts'

/*
 * The thread that keeps long work off the event loop (token-pool.ts starts it):
 * counting the rest of a long prompt, and preparing a large body whole (parse,
 * checks, estimate, stored references, the bytes to send upstream). It holds
 * at most one job per user and counts them in turns of TURN_MS each, round
 * robin, so a user's huge text slows another user's count by at most one turn
 * per job ahead of it in the ring, never by the whole text. A body's parse is
 * one step (JSON.parse cannot pause): at the body limit it is the largest
 * single step, and it delays only the other jobs in this thread.
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
  /** A prepared body waiting for its count: the reply is sent with the count added. */
  prepared?: Omit<PreparedReply, 'id' | 'estimate'> & { fixed: number; unknown: string[] }
  /** A count this thread asked for itself (a media body's prompt): given its raw tokens. */
  counted?: (tokens: number) => void
}

/** One chunk of a text (token-pool.ts sends a long text in chunks, so no message is long to copy). */
export interface CountRequest {
  kind: 'count'
  id: number
  family: Tokenizer['family']
  chunk: string
  last: boolean
}

/**
 * A large body to prepare: its chunks as the socket delivered them (transferred, not copied;
 * joined here, off the event loop) and what the route asks of them.
 */
export interface PrepareRequest {
  kind: 'prepare'
  id: number
  chunks: Uint8Array[]
  endpoint: Endpoint
  injectUsage: boolean
  store: 'forward' | 'off'
}

/** A large media body (images, audio, moderations) to parse and estimate, as a PrepareRequest. */
export interface PrepareMediaRequest {
  kind: 'prepareMedia'
  id: number
  chunks: Uint8Array[]
  route: MediaRoute
  contentType: string | undefined
}

export interface CountReply {
  kind: 'count'
  id: number
  /** Raw BPE tokens (the main thread applies the family's scale). */
  tokens: number
}

export interface PreparedReply {
  kind: 'prepared'
  id: number
  body: Record<string, unknown>
  stream: boolean
  estimate: InputEstimate
  references: Reference[]
  /** The bytes to send upstream: the client's, given back, or rewritten (stream_options, store). */
  upstream: Uint8Array
}

export interface PreparedMediaReply {
  kind: 'preparedMedia'
  id: number
  /** The client's bytes, joined, given back to be sent upstream. */
  raw: Uint8Array
  multipart: boolean
  fields: Record<string, unknown>
  model: string
  estimated: NonNullable<MediaRequest['estimated']>
}

export interface RefusedReply {
  kind: 'refused'
  id: number
  error: { code: GatewayError['code']; message: string; param: string | null }
}

export type WorkerReply = CountReply | PreparedReply | PreparedMediaReply | RefusedReply

const jobs: Job[] = []
let turn = 0
let running = false

/**
 * This thread runs at the lowest CPU priority: its work (an attacker's, as
 * often as not) takes only the CPU the event loop does not need, even on a
 * machine whose cores are all busy. Linux names the thread by its id in
 * /proc/thread-self; elsewhere, or when refused, the thread keeps the
 * process's priority.
 */
function lowerPriority() {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (Number.isInteger(threadId)) setPriority(threadId, constants.priority.PRIORITY_LOW)
  } catch {
    // Not Linux, or not allowed: nothing to do.
  }
}
lowerPriority()

parentPort?.on('message', (request: CountRequest | PrepareRequest | PrepareMediaRequest) => {
  if (request.kind === 'prepare') prepare(request)
  else if (request.kind === 'prepareMedia') void prepareMedia(request)
  else {
    let job = jobs.find((j) => j.id === request.id)
    if (!job) {
      const tokenizer = tokenizerOfFamily(request.family)
      job = { id: request.id, tokenizer, chunks: [], next: 0, tokens: 0, complete: false }
      jobs.push(job)
    }
    job.chunks.push(request.chunk)
    job.complete = request.last
  }
  schedule()
})

function schedule() {
  if (running) return
  running = true
  setImmediate(runTurn)
}

/** Counts `text` in turns with the other jobs, as a text sent from the loop is (raw tokens). */
function countInTurns(tokenizer: Tokenizer, text: string): Promise<number> {
  return new Promise((counted) => {
    jobs.push({ id: 0, tokenizer, chunks: [text], next: 0, tokens: 0, complete: true, counted })
    schedule()
  })
}

/** Parses and checks a large body as the loop would (parse.ts), then queues its text for counting. */
function prepare(request: PrepareRequest) {
  try {
    const raw = joined(request.chunks)
    const parsed = parseProxyBody(raw, request.endpoint)
    const stored = applyStorePolicy(request.store, request.endpoint, parsed)
    const references = referencedIds(request.endpoint, stored.body)
    const sent = upstreamBody(stored, request.injectUsage)
    const { model } = stored.body
    const { text, fixed, unknown } = collectInput(request.endpoint, model, stored.body)
    jobs.push({
      id: request.id,
      tokenizer: tokenizerForModel(model),
      chunks: text === null ? [] : [text],
      next: 0,
      tokens: 0,
      complete: true,
      prepared: {
        kind: 'prepared',
        body: leanBody(request.endpoint, stored.body),
        stream: stored.stream,
        references,
        upstream: ownBytes(sent),
        fixed,
        unknown,
      },
    })
  } catch (error) {
    refuse(request.id, error)
  }
}

/**
 * Parses a large media body as the loop would (media-request.ts) and estimates
 * it (media-estimate.ts), its prompt counted in turns like any text. The estimate's
 * 400, if any, goes back with the body: the loop throws it only once the plan
 * has granted the model, as for a body parsed there.
 */
async function prepareMedia(request: PrepareMediaRequest) {
  try {
    const raw = joined(request.chunks)
    const parsed = await parseMediaBody(request.route, raw, request.contentType)
    const tokenizer = tokenizerForModel(parsed.model)
    const countTokens = async (text: string) =>
      scaled(tokenizer, await countInTurns(tokenizer, text))
    let estimated: PreparedMediaReply['estimated']
    try {
      estimated = { estimate: await estimateMedia(request.route, parsed, countTokens) }
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error
      estimated = { refusal: { message: error.message, param: error.param } }
    }
    const bytes = ownBytes(raw)
    const reply: PreparedMediaReply = {
      kind: 'preparedMedia',
      id: request.id,
      raw: bytes,
      multipart: parsed.multipart,
      fields: leanMediaFields(parsed.fields),
      model: parsed.model,
      estimated,
    }
    parentPort?.postMessage(reply, [bytes.buffer as ArrayBuffer])
  } catch (error) {
    refuse(request.id, error)
  }
}

/** The refusal the loop would have thrown for this body, in the API's terms. */
function refuse(id: number, error: unknown) {
  const refusal =
    error instanceof GatewayError || error instanceof DomainError
      ? { code: error.code, message: error.message, param: error.param }
      : {
          code: 'invalid_request' as const,
          message: 'The request body could not be read',
          param: null,
        }
  parentPort?.postMessage({ kind: 'refused', id, error: refusal } satisfies RefusedReply)
}

/** One turn of the next job that has text to count, then back to the event loop (new chunks arrive between turns). */
function runTurn() {
  const job = nextRunnable()
  if (!job) {
    running = false
    return
  }
  const chunk = job.chunks[0]
  if (chunk !== undefined) {
    // A chunk's edges are cuts, like a long piece's: a token or none more (token-pool.ts).
    const counted = countFrom(job.tokenizer.count, chunk, job.next, performance.now() + TURN_MS)
    job.tokens += counted.tokens
    job.next = counted.next
    if (job.next >= chunk.length) {
      job.chunks.shift()
      job.next = 0
    }
  }
  if (job.complete && job.chunks.length === 0) finish(job)
  setImmediate(runTurn)
}

function finish(job: Job) {
  jobs.splice(jobs.indexOf(job), 1)
  if (job.counted) {
    job.counted(job.tokens)
    return
  }
  if (!job.prepared) {
    parentPort?.postMessage({ kind: 'count', id: job.id, tokens: job.tokens } satisfies CountReply)
    return
  }
  const { fixed, unknown, upstream, ...prepared } = job.prepared
  const reply: PreparedReply = {
    ...prepared,
    id: job.id,
    upstream,
    estimate: { tokens: fixed + scaled(job.tokenizer, job.tokens), unknown },
  }
  parentPort?.postMessage(reply, [upstream.buffer as ArrayBuffer])
}

/** The body's chunks as one buffer (one chunk, a chunked body read whole, is kept as it is). */
function joined(chunks: Uint8Array[]): Buffer {
  const views = chunks.map((chunk) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
  return views.length === 1 ? views[0]! : Buffer.concat(views)
}

/** The bytes in a buffer of their own, so that handing it back moves nothing else. */
function ownBytes(bytes: Buffer): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes
  return new Uint8Array(bytes)
}

/** Round robin over the jobs that have work: a chunk to count, or a prepared body to answer. */
function nextRunnable(): Job | undefined {
  for (let tried = 0; tried < jobs.length; tried++) {
    turn = (turn + 1) % jobs.length
    const job = jobs[turn]!
    if (job.chunks.length > 0 || (job.complete && job.prepared)) return job
  }
  return undefined
}
