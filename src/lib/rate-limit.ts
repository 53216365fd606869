import type { Clock } from './clock.ts'

/**
 * Token buckets keyed by a string (a source address), in this process's
 * memory: each key holds up to `burst` tokens (default `perMinute`) and regains
 * them at `perMinute` a minute. The map is bounded: past `maxKeys` the key seen
 * least recently is forgotten (a forgotten key starts full again, so a flood
 * from many addresses costs fairness to no one but itself).
 */
export function createRateLimiter(
  clock: Clock,
  perMinute: number,
  { maxKeys = 10_000, burst = perMinute }: { maxKeys?: number; burst?: number } = {},
) {
  const buckets = new Map<string, { tokens: number; at: number }>()
  const perMs = perMinute / 60_000
  return {
    /** Takes one token for `key`; false when none is left (refuse, store nothing). */
    take(key: string): boolean {
      const now = clock.now()
      const bucket = buckets.get(key)
      let tokens = burst
      if (bucket) {
        tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * perMs)
        buckets.delete(key) // re-inserted below: Map order is then least recently seen first
      } else if (buckets.size >= maxKeys) {
        buckets.delete(buckets.keys().next().value!)
      }
      const allowed = tokens >= 1
      buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at: now })
      return allowed
    },
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>
