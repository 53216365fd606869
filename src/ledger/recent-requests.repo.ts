import type { Db } from '../../db/tables.ts'
import { recentRefusals } from './request-refusals.repo.ts'

/**
 * A user's last metered requests, newest first (the console's user page): one
 * usage row per settle, summed per request (a late correction is a row of its
 * own). The rows hold the time, the model, the counted amounts, the token
 * classes the upstream reported, whether the gateway estimated them, the
 * answer's HTTP status and the latency. A request refused at admission (402,
 * 403, 429) writes no usage row: its request_refusal row (capped per user per
 * minute, admission/refusal-log.ts) is listed among them with its reason.
 */
export async function recentRequests(db: Db, userId: string, limit: number) {
  const [settled, refused] = await Promise.all([
    settledRequests(db, userId, limit),
    recentRefusals(db, userId, limit),
  ])
  const rows = [
    ...settled.map((r) => ({ ...r, refusal: null })),
    ...refused.map((r) => ({
      requestId: r.requestId ?? '',
      at: r.at,
      model: r.model,
      tokensInput: 0,
      tokensOutput: 0,
      requests: 0,
      estimated: false,
      classes: null,
      status: r.status as number | null,
      latencyMs: null,
      refusal: { code: r.code, message: r.message },
    })),
  ]
  // Stable: of rows of one second, the settled ones (read newest first) keep their order.
  return rows.sort((a, b) => b.at - a.at).slice(0, limit)
}

export type RecentRequest = Awaited<ReturnType<typeof recentRequests>>[number]

async function settledRequests(db: Db, userId: string, limit: number) {
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
      'status',
      'latency_ms',
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
      // A late correction row has none: the settle's own row holds them.
      eb.fn.max('status').as('status'),
      eb.fn.max('latency_ms').as('latency_ms'),
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
    /** The answer's HTTP status and ms from the reservation to the settle; null before 0016 or swept. */
    status: r.status == null ? null : Number(r.status),
    latencyMs: r.latency_ms == null ? null : Number(r.latency_ms),
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
