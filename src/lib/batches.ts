/**
 * Runs `batch` (which handles up to `size` rows and says how many it did)
 * until one does fewer than `size` or `max` have run: a prune as many short
 * statements, so the ledger's writes never wait long behind one. Returns the
 * rows handled; a backlog larger than size x max is left for the next run.
 */
export async function inBatches(
  batch: (size: number) => Promise<number>,
  { size, max }: { size: number; max: number },
): Promise<number> {
  let done = 0
  for (let i = 0; i < max; i++) {
    const n = await batch(size)
    done += n
    if (n < size) break
  }
  return done
}
