/**
 * Storage per request of the usage history on a synthetic month, before and
 * after the rollup and the retention prune (issue 17 point 4):
 *
 *   npx tsx bench/usage-retention-storage.ts [sqlite|postgres] [requests]
 *
 * Writes `requests` requests (three billing_usage rows each, as a settle does:
 * 1,000 users of two models each, half with a chat id) spread over 30 days,
 * then runs rollUpAndPrune (src/ledger/usage-retention.job.ts) 91 days after
 * the month, when every row is past the default 90-day retention, and reports
 * the bytes of billing_usage + billing_usage_daily (tables and indexes) per
 * request. SQLite: bytes in use (pages minus free pages; the file keeps its
 * size and reuses the free pages for new rows) and the file after VACUUM.
 * PostgreSQL: relation sizes after VACUUM (space reusable) and VACUUM FULL.
 * PostgreSQL: DATABASE_URL or postgres://postgres@127.0.0.1:5432/test.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import { createDb, type Database } from '../db/client.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { loadConfig } from '../src/config/load.ts'
import { rollUpAndPrune } from '../src/ledger/usage-retention.job.ts'
import { createLogger } from '../src/lib/logger.ts'
import { createMetrics } from '../src/lib/metrics.ts'

const DAY = 86_400
const USERS = 1_000
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet-20241022', 'gpt-3.5-turbo']
const ROWS_PER_INSERT = 600

const dialect = process.argv[2] === 'postgres' ? 'postgres' : 'sqlite'
const requests = Number(process.argv[3] ?? 1_000_000)

const dir = mkdtempSync(join(tmpdir(), 'usage-storage-'))
const schema = `usage_storage_${process.pid}`
const url =
  dialect === 'sqlite'
    ? `sqlite:${join(dir, 'gateway.db')}`
    : (process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test')

async function open(): Promise<Database> {
  if (dialect === 'sqlite') return createDb(url)
  const admin = createDb(url)
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(admin.db)
  await admin.close()
  return createDb(url, { schema })
}

const database = await open()
const { db } = database
await migrateToLatest(db)

const monthStart = Math.floor(Date.UTC(2026, 0, 1) / 1000)
const now = monthStart + 30 * DAY + 91 * DAY
const users = Array.from({ length: USERS }, (_, i) => ({
  id: randomUUID(),
  subscription: uuidv7(),
  models: [MODELS[i % MODELS.length]!, MODELS[(i + 1) % MODELS.length]!],
}))
for (const user of users) {
  await db
    .insertInto('billing_subscription')
    .values({
      id: user.subscription,
      user_id: user.id,
      plan_id: 'pro',
      status: 'active',
      // The month's periods are long closed: the current one started 5 days before the run.
      current_period_start: now - 5 * DAY,
      current_period_end: now + 25 * DAY,
      period_anchor: monthStart,
      paid_until: null,
      cancel_at_period_end: 0,
      auto_renew: 0,
      payment_method_id: null,
      grace_until: null,
      version: 0,
      created_at: monthStart,
      updated_at: monthStart,
    })
    .execute()
}

const started = Date.now()
let pending: Array<Record<string, unknown>> = []
const flush = async () => {
  if (pending.length === 0) return
  await db
    .insertInto('billing_usage')
    .values(pending as never)
    .execute()
  pending = []
}
for (let i = 0; i < requests; i++) {
  const user = users[Math.floor(Math.random() * USERS)]!
  const model = user.models[i % 2]!
  const createdMs = (monthStart + Math.floor((i / requests) * 30 * DAY)) * 1000
  const created_at = Math.floor(createdMs / 1000)
  const input = 200 + Math.floor(Math.random() * 3000)
  const output = 50 + Math.floor(Math.random() * 800)
  const common = {
    user_id: user.id,
    subscription_id: user.subscription,
    model_id: model,
    chat_id: i % 2 === 0 ? randomUUID() : null,
    request_id: uuidv7({ msecs: createdMs }),
    estimated: 0,
    created_at,
  }
  for (const [metric, amount, cost] of [
    ['requests', 1, null],
    ['tokens_input', input, input * 2],
    ['tokens_output', output, output * 8],
  ] as const) {
    pending.push({
      ...common,
      id: uuidv7({ msecs: createdMs }),
      metric,
      amount,
      raw_amount: amount,
      cost_micros: cost,
    })
  }
  if (pending.length >= ROWS_PER_INSERT) await flush()
}
await flush()
const insertSeconds = (Date.now() - started) / 1000

interface Sizes {
  usage: number
  daily: number
  extra?: string
}

async function sizes(): Promise<Sizes> {
  if (dialect === 'sqlite') {
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db)
    const { rows } = await sql<{ name: string; tbl: string; bytes: number }>`
      SELECT d.name AS name, m.tbl_name AS tbl, SUM(d.pgsize - d.unused) AS bytes
      FROM dbstat AS d JOIN sqlite_master AS m ON m.name = d.name
      GROUP BY d.name`.execute(db)
    const of = (table: string) =>
      rows.filter((r) => r.tbl === table).reduce((s, r) => s + Number(r.bytes), 0)
    const pages = (await sql<{ n: number }>`PRAGMA page_count`.execute(db)).rows[0]!
    const free = (await sql<{ n: number }>`PRAGMA freelist_count`.execute(db)).rows[0]!
    const size = (await sql<{ n: number }>`PRAGMA page_size`.execute(db)).rows[0]!
    const count = (r: object) => Number(Object.values(r)[0])
    const file = statSync(url.slice('sqlite:'.length)).size
    return {
      usage: of('billing_usage'),
      daily: of('billing_usage_daily'),
      extra: `file ${file} B, pages in use ${(count(pages) - count(free)) * count(size)} B, free pages ${count(free) * count(size)} B`,
    }
  }
  const rel = async (name: string) =>
    Number(
      (
        await sql<{
          n: string
        }>`SELECT pg_total_relation_size(${`${schema}.${name}`}) AS n`.execute(db)
      ).rows[0]!.n,
    )
  return { usage: await rel('billing_usage'), daily: await rel('billing_usage_daily') }
}

const perRequest = (s: Sizes) => ((s.usage + s.daily) / requests).toFixed(1)
const show = (label: string, s: Sizes) =>
  console.log(
    `${label}: billing_usage ${s.usage} B + billing_usage_daily ${s.daily} B = ${perRequest(s)} B/request${s.extra ? ` (${s.extra})` : ''}`,
  )

console.log(
  `${dialect}: ${requests} requests (${requests * 3} rows), ${USERS} users, 30 days, inserted in ${insertSeconds.toFixed(0)} s`,
)
if (dialect === 'postgres') await sql`VACUUM ANALYZE billing_usage`.execute(db)
show('raw month', await sizes())

const { config } = loadConfig({ file: {}, env: { DATABASE_URL: url } })
const deps = {
  database,
  config,
  logger: createLogger('warn'),
  metrics: createMetrics({ defaults: false }),
}
const ran = Date.now()
const run = await rollUpAndPrune(deps, now, { maxBatches: Number.POSITIVE_INFINITY })
const runSeconds = (Date.now() - ran) / 1000
const dailyRows = Number(
  (await db
    .selectFrom('billing_usage_daily')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst())!.n,
)
console.log(
  `rollUpAndPrune: rolled up ${run.rolledUp}, pruned ${run.pruned}, kept ${run.kept} in ${runSeconds.toFixed(1)} s (${Math.round((run.rolledUp + run.pruned) / runSeconds)} rows/s); ${dailyRows} daily rows`,
)

if (dialect === 'postgres') {
  await sql`VACUUM ANALYZE billing_usage`.execute(db)
  await sql`VACUUM ANALYZE billing_usage_daily`.execute(db)
  show('after rollup + prune, VACUUM', await sizes())
  await sql`VACUUM FULL billing_usage`.execute(db)
  await sql`VACUUM FULL billing_usage_daily`.execute(db)
  show('after VACUUM FULL', await sizes())
} else {
  show('after rollup + prune', await sizes())
  await sql`VACUUM`.execute(db)
  show('after VACUUM', await sizes())
}

await database.close()
if (dialect === 'postgres') {
  const admin = createDb(url)
  await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(admin.db)
  await admin.close()
}
rmSync(dir, { recursive: true, force: true })
