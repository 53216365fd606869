import type { Clock } from './clock.ts'

/**
 * A bounded map whose entries expire on the injected clock. When full it
 * starts over: simpler than LRU bookkeeping, and a refill costs one lookup each.
 */
export function createTtlCache<V>(clock: Clock, maxEntries: number) {
  const entries = new Map<string, { value: V; expiresAt: number }>()
  return {
    get(key: string): V | undefined {
      const entry = entries.get(key)
      if (!entry) return undefined
      if (clock.now() < entry.expiresAt) return entry.value
      entries.delete(key)
      return undefined
    },
    set(key: string, value: V, expiresAt: number) {
      if (entries.size >= maxEntries) entries.clear()
      entries.set(key, { value, expiresAt })
    },
    delete(key: string) {
      entries.delete(key)
    },
    clear() {
      entries.clear()
    },
  }
}

export type TtlCache<V> = ReturnType<typeof createTtlCache<V>>
