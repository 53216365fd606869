import type { Kysely } from 'kysely'
import type { DB } from '../../db/tables.ts'
import { DomainError } from '../lib/errors.ts'
import { parseFixed } from '../lib/fixed.ts'
import { upsertRate } from './exchange-rates.repo.ts'

const DAY = 86_400
/** A rate above this many units a unit is a typing error (RUB per USD is about 100). */
const MAX_RATE = 1_000_000

/**
 * An admin sets the rate of the shop currency from a UTC date on (the
 * console's margin page, or the API). The date is YYYY-MM-DD, the rate a
 * positive decimal of at most 6 places; anything else is a 400 that changes
 * nothing. A rate set again for the same date replaces it.
 */
export async function setExchangeRate(
  db: Kysely<DB>,
  input: { currency: string; date: string; rate: string | number },
  actor: { adminId: string; now: number },
): Promise<{ currency: string; date: string; rate_micros: number }> {
  const validFrom = utcDate(input.date)
  const rateMicros = parseFixed(input.rate, 6)
  if (rateMicros === null || rateMicros <= 0 || rateMicros > MAX_RATE * 1_000_000) {
    throw new DomainError(
      'validation_failed',
      'rate must be a positive decimal with at most 6 places, e.g. 92.5',
      { param: 'rate' },
    )
  }
  await upsertRate(db, {
    currency: input.currency,
    validFrom,
    rateMicros,
    createdAt: actor.now,
    createdBy: actor.adminId,
  })
  return { currency: input.currency, date: input.date, rate_micros: rateMicros }
}

function utcDate(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN
  if (!match || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) {
    throw new DomainError('validation_failed', 'date must be a date like 2026-03-01', {
      param: 'date',
    })
  }
  return Math.floor(ms / 1000 / DAY) * DAY
}
