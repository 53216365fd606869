import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { parentPort, workerData } from 'node:worker_threads'
import { request } from 'undici'

/*
 * The attackers of test/reliability/hostile-bodies.test.ts, on a thread
 * of their own: building and uploading bodies of megabytes must not delay the
 * test's own event loop, which times the victim's calls. Started by
 * startHostileClients (hostile-clients.ts); runs until told to stop, then posts
 * the statuses it got, user by user.
 */
export interface HostileClientsData {
  base: string
  /** user -> bearer token, and how many connections that user keeps busy. */
  users: Array<{ user: string; token: string; connections: number }>
  bodyLimit: number
  /**
   * Each connection sends a large body at this many bytes a second at most: an
   * attacker on the internet is held by its bandwidth (25 MB/s is 200 Mbit/s),
   * and uploads at loopback speed would measure this machine's memory copies,
   * not the gateway.
   */
  bytesPerSecond: number
}

export type HostileResults = Record<string, { statuses: number[]; ms: number[] }>

const chat = (content: unknown) =>
  Buffer.from(
    JSON.stringify({
      model: 'gpt-4o-mini',
      max_tokens: 1,
      messages: [{ role: 'user', content }],
    }),
  )
const mixedSpaces = (n: number) => {
  const kinds = [' ', '\u3000', '\u2028', '\t', '\u00a0']
  let out = ''
  for (let i = 0; i < n; i++) out += kinds[(i * 7919) % kinds.length]
  return out
}
const cjk = (n: number) => {
  let out = ''
  for (let i = 0; i < n; i++) out += String.fromCharCode(0x4e00 + ((i * 7919) % 20_000))
  return out
}

/** The tokenizer's and the JSON parser's worst bodies, each up to the body limit. */
export function hostileBodies(bodyLimit: number): Buffer[] {
  return [
    chat(' '.repeat(48_000)), // 48 KB of ASCII spaces: one BPE piece unless cut
    chat(mixedSpaces(16_000)), // spaces mixed with U+3000, U+2028, tab, no-break space
    chat(' '.repeat(bodyLimit - 200)), // spaces at the body limit
    chat(mixedSpaces(Math.floor((bodyLimit - 200) / 3))), // mixed spaces at the body limit
    chat(cjk(Math.floor((bodyLimit - 200) / 3))), // CJK without a space at the body limit
    Buffer.from(
      JSON.stringify({
        model: 'gpt-4o-mini',
        max_tokens: 1,
        messages: Array.from({ length: 200_000 }, () => ({ role: 'user', content: 'hi' })),
      }),
    ),
    Buffer.from(
      JSON.stringify({
        model: 'gpt-4o-mini',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'hi' }],
        metadata: Object.fromEntries(Array.from({ length: 300_000 }, (_, i) => [`k${i}`, 'v'])),
      }),
    ),
  ].filter((body) => body.length <= bodyLimit)
}

const SLICE = 256 * 1024

/** The body in slices, no faster than `bytesPerSecond`. */
async function* paced(body: Buffer, bytesPerSecond: number) {
  for (let at = 0; at < body.length; at += SLICE) {
    yield body.subarray(at, at + SLICE)
    if (at + SLICE < body.length) await sleep((SLICE / bytesPerSecond) * 1000)
  }
}

/** What the test tells the attackers: stop for good, hold (aborting what is in flight), or go on. */
export type HostileCommand = 'stop' | 'pause' | 'resume'

async function run(data: HostileClientsData) {
  const bodies = hostileBodies(data.bodyLimit)
  let attacking = true
  let inFlight = new AbortController()
  let resumed: Promise<void> | null = null
  let resume = () => {}
  parentPort?.on('message', (command: HostileCommand) => {
    if (command === 'stop') {
      attacking = false
      resume()
    } else if (command === 'pause' && !resumed) {
      // The clients leave mid-upload, as a client that gives up does; what the gateway still
      // does for them is its own cleanup.
      resumed = new Promise((resolve) => {
        resume = () => {
          resumed = null
          inFlight = new AbortController()
          resolve()
        }
      })
      inFlight.abort()
      parentPort?.postMessage('paused')
    } else if (command === 'resume') {
      resume()
      parentPort?.postMessage('resumed')
    }
  })
  const results: HostileResults = {}
  const loops = data.users.flatMap(({ user, token, connections }) => {
    const result = { statuses: [] as number[], ms: [] as number[] }
    results[user] = result
    return Array.from({ length: connections }, async (_, from) => {
      for (let i = from; attacking; i++) {
        if (resumed) {
          await resumed
          continue
        }
        const start = performance.now()
        const body = bodies[i % bodies.length]!
        const signal = inFlight.signal
        // A refusal sent before a large body is read may close the connection under the upload.
        const status = await request(`${data.base}/v1/chat/completions`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': String(body.length),
          },
          body: Readable.from(paced(body, data.bytesPerSecond)),
          signal,
        }).then(
          async (response) => {
            await response.body.arrayBuffer()
            return response.statusCode
          },
          () => 0,
        )
        if (signal.aborted) continue
        const took = performance.now() - start
        result.ms.push(took)
        result.statuses.push(status)
        // A refusal before the body is read comes back at once, but the client's bandwidth still
        // holds it: the next request leaves once this one's bytes could have been sent.
        const sendMs = (body.length / data.bytesPerSecond) * 1000
        if (took < sendMs) await sleep(sendMs - took)
      }
    })
  })
  parentPort?.postMessage('ready')
  await Promise.all(loops)
  parentPort?.postMessage(results)
}

if (parentPort && workerData) void run(workerData as HostileClientsData)
