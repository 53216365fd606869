/**
 * Writes still on their way to the database, per key (the proxy's settles and
 * releases, by user id). The proxy answers first and settles right after
 * (docs/billing-integrity.md, "Answer first"); whoever reads what those writes
 * change waits for them here, so a client that reads its usage right after
 * its answer sees it exact. Per process: another replica does not see them.
 */
/**
 * How long a user's usage read, or a reservation refused while that user's
 * settles are still being written, waits for them. A settle takes one commit
 * (a few ms even under the bench's load); past this bound the database is in
 * trouble, and the read answers with what it holds.
 */
export const OWN_SETTLES_WAIT_MS = 2_000

export interface PendingWrites {
  /** Follows `write` until it ends, whatever its outcome (it must not reject: callers log their own failures). */
  track(key: string, write: Promise<unknown>): void
  /** Whether the key has writes on their way. */
  has(key: string): boolean
  /**
   * Resolves once the key's writes pending now have ended (writes added
   * meanwhile are not waited for), or after `boundMs`: true when they all ended.
   */
  settled(key: string, boundMs: number): Promise<boolean>
  /** The same for every key: graceful shutdown waits here before leaving gateway_instance. */
  idle(boundMs: number): Promise<boolean>
  readonly size: number
}

/**
 * `hurry` is told when someone starts waiting for writes: the ledger's closes
 * may wait a few ms for company (ledger/store.ts), and a reader or shutdown
 * must not sit that window out.
 */
export function createPendingWrites(hurry: () => void = () => {}): PendingWrites {
  const byKey = new Map<string, Set<Promise<unknown>>>()
  let size = 0

  function within(writes: Array<Promise<unknown>>, boundMs: number): Promise<boolean> {
    if (writes.length === 0) return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), boundMs)
      timer.unref()
      Promise.allSettled(writes).then(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }

  function forget(own: Set<Promise<unknown>>, write: Promise<unknown>, key: string) {
    own.delete(write)
    size--
    if (own.size === 0 && byKey.get(key) === own) byKey.delete(key)
  }

  return {
    track(key, write) {
      let writes = byKey.get(key)
      if (!writes) {
        writes = new Set()
        byKey.set(key, writes)
      }
      const own = writes
      own.add(write)
      size++
      const done = () => forget(own, write, key)
      write.then(done, done)
    },
    has: (key) => byKey.has(key),
    settled(key, boundMs) {
      const writes = byKey.get(key)
      if (!writes) return within([], boundMs)
      hurry()
      return within([...writes], boundMs)
    },
    idle(boundMs) {
      const all: Array<Promise<unknown>> = []
      for (const writes of byKey.values()) all.push(...writes)
      if (all.length > 0) hurry()
      return within(all, boundMs)
    },
    get size() {
      return size
    },
  }
}
