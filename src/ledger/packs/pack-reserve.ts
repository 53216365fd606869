import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import type { DB, Db } from '../../../db/tables.ts'
import type { Metric } from '../amounts.ts'

/** A request admitted on a pack: the holding it holds, and what that holding has left free after it. */
export interface PackReserved {
  holdingId: string
  available: number
}

/**
 * Reserves one request against the user's packs of `metric`, only ever after
 * the period refused it for quota (ledger/service.ts): the hot path of a user
 * without packs is untouched. The oldest expiry first among the packs with
 * room for the whole ask (`remaining - reserved >= amount`); the check and the
 * reservation are one conditional UPDATE, re-checked on the row it locks, and
 * the reservation row commits with it. Null: no pack has room.
 */
export async function reserveFromPack(
  db: Kysely<DB>,
  input: {
    requestId: string
    userId: string
    metric: Metric
    amount: number
    owner: string
    now: number
    sentAt: number | null
  },
): Promise<PackReserved | null> {
  const { amount, now } = input
  if (amount <= 0) return null
  return db.transaction().execute(async (trx) => {
    // A concurrent reservation may take the room of the pack the subquery picked (PostgreSQL
    // re-checks the outer condition on the row it locks): then the next pack is tried.
    for (let attempt = 0; attempt < 3; attempt++) {
      const held = await trx
        .updateTable('billing_pack_holding')
        .set((eb) => ({ reserved: eb('reserved', '+', amount) }))
        .where((eb) =>
          eb(
            'id',
            '=',
            eb
              .selectFrom('billing_pack_holding')
              .select('id')
              .where('user_id', '=', input.userId)
              .where('metric', '=', input.metric)
              .where('closed_at', 'is', null)
              .where('valid_until', '>', now)
              .where(sql<number>`remaining - reserved`, '>=', amount)
              .orderBy('valid_until')
              .orderBy('id')
              .limit(1),
          ),
        )
        .where('closed_at', 'is', null)
        .where(sql<number>`remaining - reserved`, '>=', amount)
        .returning(['id', 'remaining', 'reserved'])
        .executeTakeFirst()
      if (!held) {
        if (!(await hasRoom(trx, input.userId, input.metric, amount, now))) return null
        continue
      }
      await trx
        .insertInto('billing_pack_reservation')
        .values({
          request_id: input.requestId,
          holding_id: held.id,
          user_id: input.userId,
          metric: input.metric,
          amount,
          owner: input.owner,
          sent_at: input.sentAt,
          created_at: now,
        })
        .execute()
      if (input.sentAt !== null) {
        // The request's period reservation (its other metrics, service.ts) was made unsent, so
        // a crash before this commit has it released; from here both are sent, or neither.
        await trx
          .updateTable('billing_reservation')
          .set({ sent_at: input.sentAt })
          .where('request_id', '=', input.requestId)
          .where('sent_at', 'is', null)
          .execute()
      }
      return { holdingId: held.id, available: Number(held.remaining) - Number(held.reserved) }
    }
    return null
  })
}

async function hasRoom(db: Db, userId: string, metric: Metric, amount: number, now: number) {
  const row = await db
    .selectFrom('billing_pack_holding')
    .select('id')
    .where('user_id', '=', userId)
    .where('metric', '=', metric)
    .where('closed_at', 'is', null)
    .where('valid_until', '>', now)
    .where(sql<number>`remaining - reserved`, '>=', amount)
    .executeTakeFirst()
  return row !== undefined
}

/**
 * Whether the user holds an unexpired pack with `amount` (default: anything) left of `metric`:
 * the early refusal (pipeline/admission/early-refusal.ts) leaves such a user to the reservation,
 * which decides, and the reservation (ledger/service.ts) tries a pack only then.
 */
export async function holdsPackFor(
  db: Db,
  userId: string,
  metric: Metric,
  now: number,
  amount = 1,
) {
  return hasRoom(db, userId, metric, amount, now)
}
