import type { Db } from '../../db/tables.ts'

/**
 * A user's last metered requests, newest first (the console's user page): one
 * usage row per settle, summed per request (a late correction is a row of its
 * own). The rows hold the time, the model, the counted amounts, the token
 * classes the upstream reported and whether the gateway estimated them; a
 * request refused before the upstream (a 429, a 403) or one without a request
 * id writes no usage row and is not listed.
 */
export async function recentRequests(db: Db, userId: string, limit: number) {
  // A request writes one row, two with a late correction: the newest 2 x limit rows hold the
  // last `limit` requests, and the index (user_id, created_at) reads just those.
  const newest = db
    .selectFrom('billing_usage')
    .select([
      'request_id',
      'created_at',
      'model_id',
      'estimated',
      'requests',
      'tokens_input',
      'tokens_output',
      'cached_input',
      'cache_write',
      'reasoning',
      'audio_input',
      'audio_output',
      'image_tokens',
    ])
    .where('user_id', '=', userId)
    .where('request_id', 'is not', null)
    .orderBy('created_at', 'desc')
    .limit(limit * 2)
  const rows = await db
    .selectFrom(newest.as('u'))
    .select((eb) => [
      'request_id',
      eb.fn.max('created_at').as('at'),
      eb.fn.max('model_id').as('model'),
      eb.fn.max('estimated').as('estimated'),
      eb.fn.sum<number>('requests').as('requests'),
      eb.fn.sum<number>('tokens_input').as('tokens_input'),
      eb.fn.sum<number>('tokens_output').as('tokens_output'),
      eb.fn.sum<number>('cached_input').as('cached_input'),
      eb.fn.sum<number>('cache_write').as('cache_write'),
      eb.fn.sum<number>('reasoning').as('reasoning'),
      eb.fn.sum<number>('audio_input').as('audio_input'),
      eb.fn.sum<number>('audio_output').as('audio_output'),
      eb.fn.sum<number>('image_tokens').as('image_tokens'),
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
    /** The raw token classes the upstream reported (0: none). */
    classes: {
      cached_input: Number(r.cached_input),
      cache_write: Number(r.cache_write),
      reasoning: Number(r.reasoning),
      audio_input: Number(r.audio_input),
      audio_output: Number(r.audio_output),
      image_tokens: Number(r.image_tokens),
    },
  }))
}
