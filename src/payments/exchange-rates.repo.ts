import type { Kysely } from 'kysely'
import type { DB } from '../../db/tables.ts'

export interface ExchangeRate {
  currency: string
  /** Epoch seconds of the UTC midnight it starts on. */
  validFrom: number
  /** Units of the currency per unit of the price currency, in millionths. */
  rateMicros: number
}

/** Sets the rate from a date on; a second rate for the same currency and date replaces the first. */
export async function upsertRate(
  db: Kysely<DB>,
  rate: ExchangeRate & { createdAt: number; createdBy: string | null },
): Promise<void> {
  await db
    .insertInto('exchange_rate')
    .values({
      currency: rate.currency,
      valid_from: rate.validFrom,
      rate_micros: rate.rateMicros,
      created_at: rate.createdAt,
      created_by: rate.createdBy,
    })
    .onConflict((oc) =>
      oc.columns(['currency', 'valid_from']).doUpdateSet({
        rate_micros: rate.rateMicros,
        created_at: rate.createdAt,
        created_by: rate.createdBy,
      }),
    )
    .execute()
}

/** Every rate of a currency, oldest first. */
export async function ratesOf(db: Kysely<DB>, currency: string): Promise<ExchangeRate[]> {
  const rows = await db
    .selectFrom('exchange_rate')
    .select(['currency', 'valid_from', 'rate_micros'])
    .where('currency', '=', currency)
    .orderBy('valid_from')
    .execute()
  return rows.map((row) => ({
    currency: row.currency,
    validFrom: Number(row.valid_from),
    rateMicros: Number(row.rate_micros),
  }))
}
