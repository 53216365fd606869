/*
 * How much of the event loop one user's prompts may spend being counted there.
 * Each prompt may take up to INLINE_MS on the loop (token-pool.ts); at a
 * hundred requests a second that is a tenth of the loop for one user. So each
 * user also has BUDGET_MS of inline counting per second: past it, their prompts
 * are counted in the worker, whose queue takes users in turn. An ordinary user
 * never meets it (8,000 tokens of prose count in about 0.5 ms: a hundred such
 * prompts a second). Per process, like the worker's queue.
 */
export const INLINE_MS = 1
export const BUDGET_MS = 50
const WINDOW_MS = 1000

interface Spent {
  windowStart: number
  ms: number
}

const users = new Map<string, Spent>()

/** How many ms `userId`'s next prompt may be counted on the loop now: INLINE_MS, less, or 0. */
export function inlineAllowance(userId: string, now = performance.now()): number {
  const spent = users.get(userId)
  if (!spent || now - spent.windowStart >= WINDOW_MS) return INLINE_MS
  return Math.max(0, Math.min(INLINE_MS, BUDGET_MS - spent.ms))
}

/** Records `ms` of inline counting for `userId`. */
export function spendInline(userId: string, ms: number, now = performance.now()) {
  let spent = users.get(userId)
  if (!spent || now - spent.windowStart >= WINDOW_MS) {
    if (users.size >= 10_000) forgetIdle(now)
    spent = { windowStart: now, ms: 0 }
    users.set(userId, spent)
  }
  spent.ms += ms
}

/** Drops the users whose window has passed: the map holds only this second's counters. */
function forgetIdle(now: number) {
  for (const [userId, spent] of users) {
    if (now - spent.windowStart >= WINDOW_MS) users.delete(userId)
  }
}
