import { randomBytes } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'

/** Id source, injected so tests can make ids predictable when they need to. */
export interface Ids {
  /** A time-ordered unique id (UUIDv7), used as row ids so newest-first is index order. */
  next(): string
  /** A secret of `bytes` random bytes, base64url: API keys, idempotence keys. */
  secret(bytes?: number): string
}

export const randomIds: Ids = {
  next: () => uuidv7(),
  secret: (bytes = 32) => randomBytes(bytes).toString('base64url'),
}

/**
 * The smallest UUIDv7 of millisecond `ms`: every id next() made before `ms` sorts
 * below it, every one made at or after `ms` at or above it (ids compared as text).
 */
export function firstIdAt(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-0000-000000000000`
}
