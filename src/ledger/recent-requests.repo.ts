import type { Db } from '../../db/tables.ts'

/**
 * A user's last metered requests, newest first (the console's user page): the
 * usage rows of each request summed per metric. The usage rows hold the time,
 * the model, the counted amounts, the upstream's raw tokens and whether the
 * gateway estimated them; a request refused before the upstream (a 429, a 403)
 * or one without a request id writes no usage row and is not listed.
 */
export async function recentRequests(db: Db, userId: string, limit: number) {
  // A request writes at most one row per metric: the newest 3 x limit rows hold the last
  // `limit` requests, and the index (user_id, created_at) reads just those.
  const newest = db
    .selectFrom('billing_usage')
    .select(['request_id', 'created_at', 'model_id', 'estimated', 'metric', 'amount'])
    .where('user_id', '=', userId)
    .where('request_id', 'is not', null)
    .orderBy('created_at', 'desc')
    .limit(limit * 3)
  const rows = await db
    .selectFrom(newest.as('u'))
    .select((eb) => [
      'request_id',
      eb.fn.max('created_at').as('at'),
      eb.fn.max('model_id').as('model'),
      eb.fn.max('estimated').as('estimated'),
      eb.fn
        .sum<number>(
          eb.case().when('metric', '=', 'tokens_input').then(eb.ref('amount')).else(0).end(),
        )
        .as('tokens_input'),
      eb.fn
        .sum<number>(
          eb.case().when('metric', '=', 'tokens_output').then(eb.ref('amount')).else(0).end(),
        )
        .as('tokens_output'),
      eb.fn
        .sum<number>(eb.case().when('metric', '=', 'requests').then(eb.ref('amount')).else(0).end())
        .as('requests'),
    ])
    .groupBy('request_id')
    .orderBy('at', 'desc')
    .limit(limit)
    .execute()
  return rows.map((r) => ({
    requestId: r.request_id!,
    at: Number(r.at),
    model: r.model ?? null,
    tokensInput: Number(r.tokens_input),
    tokensOutput: Number(r.tokens_output),
    requests: Number(r.requests),
    estimated: Number(r.estimated) === 1,
  }))
}
