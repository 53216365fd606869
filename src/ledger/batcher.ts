export interface BatchRunner<Item, Result> {
  /** Runs the whole batch at once; the results in the order of the items. */
  all(items: Item[]): Promise<Result[]>
  /** Runs one item alone: each item of a batch that failed as a whole is retried this way. */
  one(item: Item): Promise<Result>
  /** Told each batch's size (a metric). */
  onBatch?(size: number): void
  /** Told when a batch failed as a whole and its items run alone (a metric). */
  onRetryAlone?(size: number): void
}

/**
 * Coalesces calls into batches. A call waits at most for the current
 * event-loop turn (setImmediate) when no batch is being written, so a lone
 * call costs nothing; while a batch is being written, the calls that arrive
 * queue and go out together as soon as it ends (one batch in flight at a
 * time, the classic group commit): under load the batches grow instead of
 * queueing on the database's row locks one small statement after another.
 * Each caller still gets its own result. When the batch fails as a whole,
 * every item is retried alone, in order, so one bad item cannot sink the
 * others: a failed batch must therefore have changed nothing (the ledger's
 * are one statement or one transaction).
 */
export function createBatcher<Item, Result>(
  runner: BatchRunner<Item, Result>,
): (item: Item) => Promise<Result> {
  let queue: Array<{ item: Item; resolve(result: Result): void; reject(error: unknown): void }> = []
  let scheduled = false
  let writing = false

  function schedule() {
    if (scheduled || writing || queue.length === 0) return
    scheduled = true
    setImmediate(flush)
  }

  async function flush() {
    scheduled = false
    writing = true
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
    runner.onBatch?.(batch.length)
    if (batch.length === 1) {
      const [lone] = batch as [(typeof batch)[number]]
      return runner.one(lone.item).then(lone.resolve, lone.reject)
    }
    try {
      const results = await runner.all(batch.map((queued) => queued.item))
      for (const [i, queued] of batch.entries()) queued.resolve(results[i] as Result)
    } catch {
      runner.onRetryAlone?.(batch.length)
      for (const queued of batch) await runner.one(queued.item).then(queued.resolve, queued.reject)
    }
  }

  return (item) =>
    new Promise<Result>((resolve, reject) => {
      queue.push({ item, resolve, reject })
      schedule()
    })
}
