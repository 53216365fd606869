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
