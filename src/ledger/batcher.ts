export interface BatchRunner<Item, Result> {
  /** Runs the whole batch at once; the results in the order of the items. */
  all(items: Item[]): Promise<Result[]>
  /** Runs one item alone: each item of a batch that failed as a whole is retried this way. */
  one(item: Item): Promise<Result>
  /** Told each batch's items (a metric). */
  onBatch?(items: Item[]): void
  /** Told when a batch failed as a whole and its items run alone (a metric). */
  onRetryAlone?(items: Item[]): void
}

/**
 * Items that may wait for company (the ledger's closes: nobody waits on them
 * but readers of the user's usage, who call hurry). Such an item waits for the
 * next item that does not (it then rides in the same batch), at most
 * `windowMs`, or until `maxWaiting` of them queue.
 */
export interface WaitPolicy<Item> {
  waits(item: Item): boolean
  windowMs: number
  maxWaiting: number
}

export interface Batcher<Item, Result> {
  (item: Item): Promise<Result>
  /** Writes what is queued without waiting out the window (a reader, shutdown). */
  hurry(): void
}

/**
 * Coalesces calls into batches. A call waits at most for the current
 * event-loop turn (setImmediate) when no batch is being written, so a lone
 * call costs nothing; while a batch is being written, the calls that arrive
 * queue and go out together as soon as it ends (one batch in flight at a
 * time, the classic group commit): under load the batches grow instead of
 * queueing on the database's row locks one small statement after another.
 * With a WaitPolicy, the items it names may wait longer (see there).
 * Each caller still gets its own result. When the batch fails as a whole,
 * every item is retried alone, in order, so one bad item cannot sink the
 * others: a failed batch must therefore have changed nothing (the ledger's
 * are one statement or one transaction).
 */
export function createBatcher<Item, Result>(
  runner: BatchRunner<Item, Result>,
  policy?: WaitPolicy<Item>,
): Batcher<Item, Result> {
  let queue: Array<{ item: Item; resolve(result: Result): void; reject(error: unknown): void }> = []
  /** Queued items that do not wait: any of them makes the batch go this turn. */
  let eager = 0
  let hurried = false
  let soon: NodeJS.Immediate | undefined
  let later: NodeJS.Timeout | undefined
  let writing = false

  function schedule() {
    if (writing || queue.length === 0 || soon) return
    const now = !policy || eager > 0 || hurried || queue.length >= policy.maxWaiting
    if (now) {
      if (later) clearTimeout(later)
      later = undefined
      soon = setImmediate(flush)
    } else if (!later) {
      later = setTimeout(flush, policy.windowMs)
    }
  }

  async function flush() {
    if (soon) clearImmediate(soon)
    if (later) clearTimeout(later)
    soon = undefined
    later = undefined
    writing = true
    hurried = false
    eager = 0
    const batch = queue
    queue = []
    try {
      await write(batch)
    } finally {
      writing = false
      schedule()
    }
  }

  async function write(batch: typeof queue) {
    const items = batch.map((queued) => queued.item)
    runner.onBatch?.(items)
    if (batch.length === 1) {
      const [lone] = batch as [(typeof batch)[number]]
      return runner.one(lone.item).then(lone.resolve, lone.reject)
    }
    try {
      const results = await runner.all(items)
      for (const [i, queued] of batch.entries()) queued.resolve(results[i] as Result)
    } catch {
      runner.onRetryAlone?.(items)
      for (const queued of batch) await runner.one(queued.item).then(queued.resolve, queued.reject)
    }
  }

  const submit = (item: Item) =>
    new Promise<Result>((resolve, reject) => {
      queue.push({ item, resolve, reject })
      if (!policy?.waits(item)) eager++
      schedule()
    })
  return Object.assign(submit, {
    hurry() {
      if (queue.length === 0) return
      hurried = true
      schedule()
    },
  })
}
