/**
 * Refusal rows a user may leave per minute, per process: a client hammering a
 * 429 must not turn each refusal into a database write. Past the cap a refusal
 * is only counted (gateway_request_refusals_unrecorded_total); the console
 * still shows the first ones of every minute, which is what an operator reads.
 */
export const REFUSALS_RECORDED_PER_MINUTE = 10

/** Admission's refusals the console lists: no plan (402), not allowed (403), over quota (429). */
export const RECORDED_STATUSES = new Set([402, 403, 429])

/** Per process: how many refusals each user has left recorded in the current minute. */
export interface RefusalLog {
  /** Takes one of the user's recorded refusals of the minute `minute`; false past the cap. */
  take(userId: string, minute: number): boolean
}

export function createRefusalLog(perMinute = REFUSALS_RECORDED_PER_MINUTE): RefusalLog {
  let current = -1
  // Cleared each minute: it holds at most the users refused within one minute.
  const counts = new Map<string, number>()
  return {
    take(userId, minute) {
      if (minute !== current) {
        current = minute
        counts.clear()
      }
      const n = counts.get(userId) ?? 0
      if (n >= perMinute) return false
      counts.set(userId, n + 1)
      return true
    },
  }
}
