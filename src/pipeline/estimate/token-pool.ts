import { Worker } from 'node:worker_threads'
import { GatewayError } from '../../http/errors.ts'
import type { MediaRequest, MediaRoute } from '../media/media-request.ts'
import type { Endpoint } from '../request/endpoint.ts'
import type { ParsedRequest } from '../request/parse.ts'
import type { BodyChunks } from '../request/read-body.ts'
import { collectInput, type InputEstimate } from './estimate.ts'
import { INLINE_MS, inlineAllowance, spendInline } from './inline-budget.ts'
import type {
  CountRequest,
  PrepareMediaRequest,
  PrepareRequest,
  WorkerReply,
} from './token-worker.ts'
import { countFrom, scaled, type Tokenizer, tokenizerForModel } from './tokenizer.ts'

type Body = Record<string, unknown>

/*
 * Counting off the event loop. A prompt is counted here while that takes less
 * than INLINE_MS (an ordinary prompt: 8,000 tokens of prose take about 0.5 ms),
 * and while the user's inline budget lasts (inline-budget.ts); the rest of a
 * longer one, or all of it past the budget, goes to one worker thread, so no
 * request, of any shape up to the body limit, holds the loop longer than
 * INLINE_MS plus one tokenizer segment (token-worker.ts counts in turns, one job per user at a time).
 *
 * One user has at most one text in the worker; MAX_WAITING more wait here, in
 * order, and beyond that the request is refused with a retryable 429, before
 * anything is reserved. The worker is one per process (two cores are the
 * common case: one for the loop, one for counting), started on first use and
 * unref'd, like the tokenizer's own tables it holds nothing per request.
 */
const MAX_WAITING = 4
/**
 * Copying a string into a message costs about 3.5 ms per million characters on the
 * loop: a long text goes in chunks of CHUNK_CHARS, one per turn of the event loop.
 */
const CHUNK_CHARS = 128 * 1024

/** A job waiting for its user's turn in the worker: `send` hands it over once it is that turn. */
interface Waiting {
  send: (id: number) => Promise<void>
  resolve: (reply: WorkerReply) => void
  reject: (error: unknown) => void
}

interface UserQueue {
  active: boolean
  waiting: Waiting[]
}

const users = new Map<string, UserQueue>()
const pending = new Map<
  number,
  { resolve: (reply: WorkerReply) => void; reject: (e: unknown) => void }
>()
let worker: Worker | null = null
let lastId = 0

/** The tokens of `text` as the model counts them, keeping the event loop free. */
export async function countOffLoop(userId: string, model: string, text: string): Promise<number> {
  const tokenizer = tokenizerForModel(model)
  const started = performance.now()
  // Past the user's budget the count goes to the worker, unless their queue there is full: the
  // budget moves work, it never refuses a request.
  const allowance = queueFull(userId) ? INLINE_MS : inlineAllowance(userId, started)
  const inline =
    allowance > 0
      ? countFrom(tokenizer.count, text, 0, started + allowance)
      : { tokens: 0, next: 0 }
  if (allowance > 0) spendInline(userId, performance.now() - started)
  if (inline.next >= text.length) return scaled(tokenizer, inline.tokens)
  const rest = text.slice(inline.next)
  const reply = await queued(userId, (id) => sendInChunks(id, tokenizer, rest))
  if (reply.kind !== 'count')
    throw new Error(`The counting worker answered ${reply.kind} to a count`)
  return scaled(tokenizer, inline.tokens + reply.tokens)
}

/**
 * A body over LARGE_BODY_BYTES, parsed, checked and estimated in the worker
 * (token-worker.ts): the event loop only moves its chunks there (they are
 * joined in the worker) and reads back its lean form and facts (lean-body.ts).
 * A refusal comes back as the same error the loop would have thrown.
 */
export async function prepareOffLoop(
  userId: string,
  body: BodyChunks,
  route: { endpoint: Endpoint; injectUsage: boolean; store: PrepareRequest['store'] },
): Promise<ParsedRequest> {
  // The worker takes the chunks over (no copy): a chunk that shares its memory is copied first.
  const chunks = body.chunks.map(ownMemory)
  const reply = await queued(userId, async (id) => {
    const request: PrepareRequest = { kind: 'prepare', id, chunks, ...route }
    counter().postMessage(
      request,
      chunks.map((chunk) => chunk.buffer as ArrayBuffer),
    )
  })
  if (reply.kind !== 'prepared') throw unexpected(reply, 'a body')
  const { stream, estimate, references, upstream } = reply
  return {
    // The client's bytes went to the worker (moved, not copied) and come back joined, as the bytes to send.
    raw: Buffer.from(upstream.buffer, upstream.byteOffset, upstream.byteLength),
    body: reply.body as ParsedRequest['body'],
    stream,
    offLoop: { estimate, references },
  }
}

/**
 * A large media body (images, audio, moderations), parsed and estimated in the
 * worker like a text one (prepareOffLoop): the loop gets back its bytes, the
 * fields it still reads (leanMediaFields) and the estimate, or its 400.
 */
export async function prepareMediaOffLoop(
  userId: string,
  body: BodyChunks,
  route: MediaRoute,
  contentType: string | undefined,
): Promise<MediaRequest> {
  const chunks = body.chunks.map(ownMemory)
  const reply = await queued(userId, async (id) => {
    const request: PrepareMediaRequest = { kind: 'prepareMedia', id, chunks, route, contentType }
    counter().postMessage(
      request,
      chunks.map((chunk) => chunk.buffer as ArrayBuffer),
    )
  })
  if (reply.kind !== 'preparedMedia') throw unexpected(reply, 'a media body')
  const { raw, multipart, fields, model, estimated } = reply
  return {
    raw: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength),
    multipart,
    fields,
    files: [],
    model,
    estimated,
  }
}

/** The refusal the worker sent back, as the loop would have thrown it; else a reply of the wrong kind. */
function unexpected(reply: WorkerReply, asked: string): Error {
  if (reply.kind === 'refused') {
    const { code, message, param } = reply.error
    return new GatewayError(code, message, { param })
  }
  return new Error(`The worker answered ${reply.kind} to ${asked}`)
}

/**
 * The chunk itself when it alone holds its memory (what Node's HTTP parser hands
 * over), so that moving it moves nothing else; otherwise a copy of its own (a view
 * of a pooled or larger buffer must not be moved whole).
 */
function ownMemory(chunk: Uint8Array): Uint8Array {
  const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
  return whole && !(chunk.buffer instanceof SharedArrayBuffer) ? chunk : new Uint8Array(chunk)
}

/**
 * The same estimate, counted without holding the event loop (below):
 * what the proxy calls, for `userId`'s request.
 */
export async function estimateInputOffLoop(
  userId: string,
  endpoint: Endpoint,
  model: string,
  body: Body,
): Promise<InputEstimate> {
  const { text, fixed, unknown } = collectInput(endpoint, model, body)
  return { tokens: fixed + (text === null ? 0 : await countOffLoop(userId, model, text)), unknown }
}

/** Bodies larger than this are prepared off the event loop (a 64 KiB body parses in well under a millisecond). */
export const LARGE_BODY_BYTES = 64 * 1024

/**
 * A retryable 429 when `userId` already has as many long texts or large bodies
 * waiting as one user may: called before a large body is read, and again when
 * it is queued (others may have come in while it was read).
 */
export function refuseWhenQueueFull(userId: string) {
  if (!queueFull(userId)) return
  throw new GatewayError(
    'rate_limit_exceeded',
    'Too many long prompts of yours are being measured at once: retry when one is answered',
    { headers: { 'retry-after': '1' } },
  )
}

function queueFull(userId: string): boolean {
  return (users.get(userId)?.waiting.length ?? 0) >= MAX_WAITING
}

function queued(userId: string, send: Waiting['send']): Promise<WorkerReply> {
  refuseWhenQueueFull(userId)
  let queue = users.get(userId)
  if (!queue) {
    queue = { active: false, waiting: [] }
    users.set(userId, queue)
  }
  return new Promise<WorkerReply>((resolve, reject) => {
    queue.waiting.push({ send, resolve, reject })
    startNext(userId, queue)
  })
}

/** Sends the user's next waiting text to the worker, unless one of theirs is already there. */
function startNext(userId: string, queue: UserQueue) {
  if (queue.active) return
  const job = queue.waiting.shift()
  if (!job) {
    users.delete(userId)
    return
  }
  queue.active = true
  const done = () => {
    queue.active = false
    startNext(userId, queue)
  }
  const id = ++lastId
  pending.set(id, {
    resolve: (reply) => {
      done()
      job.resolve(reply)
    },
    reject: (error) => {
      done()
      job.reject(error)
    },
  })
  job.send(id).catch((error) => pending.get(id)?.reject(error))
}

async function sendInChunks(id: number, tokenizer: Tokenizer, text: string) {
  const family = tokenizer.family
  for (let at = 0; at < text.length; ) {
    let end = Math.min(at + CHUNK_CHARS, text.length)
    // Never split a surrogate pair.
    const c = text.charCodeAt(end)
    if (end < text.length && c >= 0xdc00 && c <= 0xdfff) end++
    const last = end >= text.length
    counter().postMessage({
      kind: 'count',
      id,
      family,
      chunk: text.slice(at, end),
      last,
    } satisfies CountRequest)
    at = end
    if (!last) await new Promise((resolve) => setImmediate(resolve))
  }
}

/**
 * The worker, started on first use. Compiled (scripts/build.mjs), its bundle token-worker.js
 * sits beside the bundle running this code. Under tsx (tests, development) its script is
 * TypeScript: it registers tsx first (test/helpers/reserve-in-worker.ts does the same).
 */
function counter(): Worker {
  if (worker) return worker
  const started = import.meta.url.endsWith('.js')
    ? new Worker(new URL('./token-worker.js', import.meta.url))
    : new Worker(tsxBootstrap(new URL('./token-worker.ts', import.meta.url)), { eval: true })
  started.unref()
  started.on('message', (reply: WorkerReply) => {
    const job = pending.get(reply.id)
    pending.delete(reply.id)
    job?.resolve(reply)
  })
  const fail = (error: unknown) => {
    if (worker === started) worker = null
    const jobs = [...pending.values()]
    pending.clear()
    for (const job of jobs) job.reject(error)
  }
  started.on('error', fail)
  started.on('exit', (code) => fail(new Error(`The token counting worker exited (${code})`)))
  worker = started
  return started
}

function tsxBootstrap(script: URL): string {
  return `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script.href)}) })`
}
