import type { Insertable } from 'kysely'
import type { Db, Metric, UsageTable } from '../../db/tables.ts'
import {
  type Amounts,
  noClasses,
  TOKEN_CLASSES,
  type TokenClass,
  type TokenClasses,
} from './amounts.ts'

/** billing_usage's column for each token class (0011). */
export const CLASS_COLUMNS = {
  cachedInput: 'cached_input',
  cacheWrite: 'cache_write',
  audioInput: 'audio_input',
  reasoning: 'reasoning',
  audioOutput: 'audio_output',
  image: 'image_tokens',
} as const satisfies Record<TokenClass, keyof UsageTable>

/** What billing_usage already holds for a request, per metric (the settle of a swept reservation). */
export async function recordedUsage(db: Db, requestId: string): Promise<Amounts> {
  const row = await db
    .selectFrom('billing_usage')
    .select((eb) => [
      eb.fn.sum<number>('requests').as('requests'),
      eb.fn.sum<number>('tokens_input').as('tokens_input'),
      eb.fn.sum<number>('tokens_output').as('tokens_output'),
    ])
    .where('request_id', '=', requestId)
    .executeTakeFirst()
  return {
    requests: Number(row?.requests ?? 0),
    tokens_input: Number(row?.tokens_input ?? 0),
    tokens_output: Number(row?.tokens_output ?? 0),
  }
}

/** The raw tokens, cost and classes billing_usage already holds for a request (nulls count 0). */
export async function recordedDetail(
  db: Db,
  requestId: string,
): Promise<{ raw: Amounts; cost: Amounts; classes: TokenClasses }> {
  const row = await db
    .selectFrom('billing_usage')
    .select((eb) => [
      eb.fn.sum<number>('raw_input').as('raw_input'),
      eb.fn.sum<number>('raw_output').as('raw_output'),
      eb.fn.sum<number>('cost_input_micros').as('cost_input'),
      eb.fn.sum<number>('cost_output_micros').as('cost_output'),
      ...TOKEN_CLASSES.map((name) => eb.fn.sum<number>(CLASS_COLUMNS[name]).as(name)),
    ])
    .where('request_id', '=', requestId)
    .executeTakeFirst()
  const sum = (value: unknown) => Number(value ?? 0)
  const classes = noClasses()
  for (const name of TOKEN_CLASSES) classes[name] = sum(row?.[name])
  return {
    // A request's requests have a raw count wherever its tokens do (the requests column).
    raw: { requests: 0, tokens_input: sum(row?.raw_input), tokens_output: sum(row?.raw_output) },
    cost: { requests: 0, tokens_input: sum(row?.cost_input), tokens_output: sum(row?.cost_output) },
    classes,
  }
}

export async function insertUsage(db: Db, row: Insertable<UsageTable>): Promise<void> {
  await db.insertInto('billing_usage').values(row).execute()
}

/** The raw tokens of each class in a subscription's period so far, by their column (JSON) names. */
export type ClassTotals = Record<(typeof CLASS_COLUMNS)[TokenClass], number>

/**
 * The token classes the upstream reported for a subscription since `from` (its
 * current period's start): the usage API and /me show them next to the
 * counters. A live subscription's current period is never pruned
 * (usage-retention.job.ts), so the raw rows hold all of it; the index
 * (user_id, created_at) bounds the scan.
 */
export async function periodClassTotals(
  db: Db,
  period: { userId: string; subscriptionId: string; from: number },
): Promise<ClassTotals> {
  const row = await db
    .selectFrom('billing_usage')
    .select((eb) => TOKEN_CLASSES.map((name) => eb.fn.sum<number>(CLASS_COLUMNS[name]).as(name)))
    .where('user_id', '=', period.userId)
    .where('created_at', '>=', period.from)
    .where('subscription_id', '=', period.subscriptionId)
    .executeTakeFirst()
  return Object.fromEntries(
    TOKEN_CLASSES.map((name) => [CLASS_COLUMNS[name], Number(row?.[name] ?? 0)]),
  ) as ClassTotals
}

/** Which classes each token metric shows (the usage API): those within its total. */
export const CLASSES_OF_METRIC = {
  requests: [],
  tokens_input: ['cached_input', 'cache_write', 'audio_input'],
  tokens_output: ['reasoning', 'audio_output'],
} as const satisfies Record<Metric, ReadonlyArray<keyof ClassTotals>>
