import type { Database } from '../../../db/client.ts'
import { type Clock, nowSeconds } from '../../lib/clock.ts'
import type { Ids } from '../../lib/ids.ts'
import type { Logger } from '../../lib/logger.ts'
import { expirePacks } from './holdings.repo.ts'

/**
 * Writes the expiry entry of every pack past its validity (and the leftover of
 * a refunded pack once its requests in flight ended): its balance goes to zero
 * with an entry of the same amount, so the ledger still sums to the balance.
 * Reservation already refuses an expired pack by its valid_until; this job only
 * closes its books. Idempotent and safe on several replicas at once.
 */
export async function runExpirePacks(deps: {
  clock: Clock
  database: Database
  ids: Ids
  logger: Logger
}): Promise<number> {
  const expired = await expirePacks(deps.database.db, nowSeconds(deps.clock), () => deps.ids.next())
  if (expired > 0) deps.logger.info({ expired }, 'BILLING expired prepaid packs')
  return expired
}
