import { setTimeout as sleep } from 'node:timers/promises'
import { GatewayError } from '../../http/errors.ts'

/*
 * Reading a large upload costs the event loop for every chunk the socket hands
 * over (a 64 KiB copy and a callback each), and a user with many connections
 * can make it read at the sum of their bandwidths. So, per user, one large body
 * is read at a time, no faster than READ_BYTES_PER_SECOND; the user's other
 * large bodies wait unread, their sockets left alone (the kernel's TCP buffers
 * fill and the client stops sending: waiting costs the loop nothing). At most
 * MAX_WAITING wait; one more is refused with a retryable 429 before a byte of it
 * is read. Small bodies never take a turn: an ordinary call's path is unchanged.
 *
 * Per process, like the worker's queue (token-pool.ts).
 */
const MAX_WAITING = 4
/**
 * 8 MiB/s (about 67 Mbit/s): above what most clients' uplinks carry, so an
 * honest upload is rarely held (a 10 MiB body, the default limit, is read in
 * 1.25 s, while its answer takes seconds). What a user's uploads cost the
 * loop, and the collector (every chunk read is memory off the heap, and the
 * more of it, the more often the whole heap is collected), grows with this
 * rate: at 32 MiB/s an attacker's uploads brought 2-5 major collections into
 * every 4 s and moved another user's p99 by +13 to +34 ms on PostgreSQL; at
 * 8 MiB/s, 0-1 and +4 to +10 ms (test/reliability/hostile-bodies.test.ts,
 * docs/security.md).
 */
export const READ_BYTES_PER_SECOND = 8 * 1024 * 1024

interface UserTurns {
  reading: boolean
  waiting: Array<() => void>
}

const users = new Map<string, UserTurns>()

/** One user's turn at reading a large body: `pace` after each chunk, `end` once read (or failed). */
export interface UploadTurn {
  pace(bytes: number): Promise<void>
  end(): void
}

/**
 * Waits for `userId`'s turn to read a large body, or throws a retryable 429
 * when MAX_WAITING of theirs already wait.
 */
export async function uploadTurn(userId: string): Promise<UploadTurn> {
  let turns = users.get(userId)
  if (!turns) {
    turns = { reading: false, waiting: [] }
    users.set(userId, turns)
  }
  if (turns.reading) {
    if (turns.waiting.length >= MAX_WAITING) {
      throw new GatewayError(
        'rate_limit_exceeded',
        'Too many large request bodies of yours are being uploaded at once: retry when one is answered',
        { headers: { 'retry-after': '1' } },
      )
    }
    const queue = turns
    await new Promise<void>((resolve) => queue.waiting.push(resolve))
  }
  turns.reading = true
  return startedTurn(userId, turns)
}

function startedTurn(userId: string, turns: UserTurns): UploadTurn {
  const started = performance.now()
  let read = 0
  let ended = false
  return {
    async pace(bytes) {
      read += bytes
      // Ahead of the allowed rate: hold the stream (its socket pauses) until the rate catches up.
      const due = started + (read / READ_BYTES_PER_SECOND) * 1000
      const ahead = due - performance.now()
      if (ahead >= 1) await sleep(ahead)
    },
    end() {
      if (ended) return
      ended = true
      const next = turns.waiting.shift()
      if (next) next()
      else {
        turns.reading = false
        users.delete(userId)
      }
    },
  }
}
