import type { Kysely } from 'kysely'
import type { DB } from '../../db/tables.ts'
import { type ExchangeRate, ratesOf } from './exchange-rates.repo.ts'

/**
 * The rate in force at a moment: the admin-set rate of the latest date on or
 * before it, else the configured fixed rate, else none (the amount stays
 * unconverted and the margin shows nothing rather than a wrong figure).
 */
export type RateAt = (epochSeconds: number) => number | null

export async function loadRates(
  db: Kysely<DB>,
  currency: string,
  fixedRateMicros: number | undefined,
): Promise<{ rateAt: RateAt; rates: ExchangeRate[] }> {
  const rates = await ratesOf(db, currency)
  const rateAt: RateAt = (at) => {
    let found: number | null = fixedRateMicros ?? null
    for (const rate of rates) {
      if (rate.validFrom > at) break
      found = rate.rateMicros
    }
    return found
  }
  return { rateAt, rates }
}

/**
 * An amount in micro-units of the price currency, in micro-units of the shop
 * currency at `rateMicros`: ceil, in integers (BigInt: micros x micros passes 2^53),
 * so a cost is never shown below what it was.
 */
export function convertMicros(micros: number, rateMicros: number): number {
  const product = BigInt(micros) * BigInt(rateMicros)
  const million = 1_000_000n
  const quotient = product / million
  return Number(product % million > 0n ? quotient + 1n : quotient)
}
