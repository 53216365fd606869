/** The only source of "now" in the gateway, so tests can move time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** Epoch seconds, the unit every table and JSON timestamp uses. */
export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000)
}

/** A clock that only moves when told to. */
export function createTestClock(startMs = Date.UTC(2026, 0, 15, 12, 0, 0)) {
  let current = startMs
  return {
    now: () => current,
    set(ms: number) {
      current = ms
    },
    advance(ms: number) {
      current += ms
    },
  }
}
export type TestClock = ReturnType<typeof createTestClock>
