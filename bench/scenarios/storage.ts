import { rmSync } from 'node:fs'
import { type Insertable, sql } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import { createDb, type Database } from '../../db/client.ts'
import { migrateToLatest } from '../../db/migrate.ts'
import type { UsageTable } from '../../db/tables.ts'
import { rollUpAndPrune } from '../../src/ledger/usage-retention.job.ts'
import { randomIds } from '../../src/lib/ids.ts'
import { createLogger } from '../../src/lib/logger.ts'
import { createMetrics } from '../../src/lib/metrics.ts'
import { createBenchDatabase } from '../targets/postgres.ts'
import { readStorage, type StorageReading, storageLine } from '../targets/storage.ts'

/**
 * `npm run bench:storage`: a synthetic month of traffic written straight into a fresh database
 * (the row the gateway leaves per settled request, its metrics as columns), then the daily rollup and retention prune, then bytes per
 * request before and after (the target: at most 150 once the old rows are rolled up).
 * A script, not a timed test: it prints sizes, and its run time means nothing.
 * Env: STORAGE_DB=sqlite|postgres, STORAGE_REQUESTS (100000), STORAGE_USERS (200),
 * STORAGE_DAYS (31), STORAGE_RETENTION_DAYS (90). The prune runs "now" = the month's end plus
 * the retention plus a day, so that the whole month is older than the retention.
 */
const DB = process.env.STORAGE_DB === 'postgres' ? 'postgres' : 'sqlite'
const REQUESTS = Number(process.env.STORAGE_REQUESTS ?? 100_000)
const USERS = Number(process.env.STORAGE_USERS ?? 200)
const DAYS = Number(process.env.STORAGE_DAYS ?? 31)
const RETENTION_DAYS = Number(process.env.STORAGE_RETENTION_DAYS ?? 90)
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'claude-sonnet-4']
const DAY_S = 86_400
/** Rows per INSERT: 15 columns x 500 stays under both databases' bound-parameter limits. */
const BATCH = 500

const log = (line: string) => process.stderr.write(`${line}\n`)

/** A deterministic pseudo-random source, so two runs write the same month. */
function random(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff
    return seed / 0x80000000
  }
}

/** The month's usage rows, in time order, as the ledger's settle writes them for one request. */
function* month(startS: number) {
  const next = random(17)
  const users = Array.from({ length: USERS }, (_, i) => ({
    id: `user-${String(i).padStart(6, '0')}`,
    subscription: randomIds.next(),
  }))
  for (let i = 0; i < REQUESTS; i++) {
    const user = users[Math.floor(next() * USERS)]!
    const model = MODELS[Math.floor(next() * MODELS.length)]!
    const createdAt = startS + Math.floor((i / REQUESTS) * DAYS * DAY_S)
    // Ids as the gateway makes them: UUIDv7 of the settle, the moment of created_at (the rollup
    // and the prune go by the ids' time: docs/usage-history.md).
    const requestId = uuidv7({ msecs: createdAt * 1000 })
    const input = 50 + Math.floor(next() * 4000)
    const output = 10 + Math.floor(next() * 1000)
    // One row per settled request, its metrics as columns (migration 0010).
    yield {
      id: uuidv7({ msecs: createdAt * 1000 }),
      user_id: user.id,
      subscription_id: user.subscription,
      model_id: model,
      chat_id: null,
      request_id: requestId,
      estimated: 0,
      created_at: createdAt,
      ...{ requests: 1, tokens_input: input, tokens_output: output },
      ...{ raw_input: input, raw_output: output },
      ...{ cost_input_micros: input * 3, cost_output_micros: output * 3 },
    }
  }
}

async function fill(database: Database, startS: number) {
  let batch: Array<Insertable<UsageTable>> = []
  const flush = async () => {
    const rows = batch
    batch = []
    await database.db.insertInto('billing_usage').values(rows).execute()
  }
  for (const row of month(startS)) {
    batch.push(row)
    if (batch.length === BATCH) await flush()
  }
  if (batch.length > 0) await flush()
}

/** The daily rollup and retention prune, run to the end as the jobs would. */
async function rollupAndPrune(
  database: Database,
  nowS: number,
  retentionDays: number,
): Promise<string | null> {
  const deps = {
    database,
    config: { usage: { retentionDays } },
    logger: createLogger('warn'),
    metrics: createMetrics({ defaults: false }),
  }
  const started = Date.now()
  const run = await rollUpAndPrune(deps, nowS, { maxBatches: Number.POSITIVE_INFINITY })
  const seconds = (Date.now() - started) / 1000
  return `rolled up ${run.rolledUp.toLocaleString('en')} rows, pruned ${run.pruned.toLocaleString('en')}, kept ${run.kept.toLocaleString('en')} in ${seconds.toFixed(1)} s`
}

/** SQLite's VACUUM, PostgreSQL's VACUUM FULL: the free space given back, to read what is held. */
async function compact(database: Database) {
  if (database.dialect === 'sqlite') await sql`VACUUM`.execute(database.db)
  else await sql`VACUUM FULL`.execute(database.db)
}

async function main() {
  const sqliteFile = `/tmp/bench-storage-${process.pid}.db`
  const pgDb = DB === 'postgres' ? await createBenchDatabase() : undefined
  const database = createDb(pgDb ? pgDb.url : `sqlite:${sqliteFile}`, { poolSize: 2 })
  const report = (label: string, reading: StorageReading) =>
    process.stdout.write(`${label.padEnd(28)} ${storageLine(reading, REQUESTS)}\n`)
  try {
    await migrateToLatest(database.db)
    const startS = Math.floor(Date.now() / 1000) - (DAYS + RETENTION_DAYS + 1) * DAY_S
    log(`${DB}: writing ${REQUESTS.toLocaleString('en')} requests over ${DAYS} days...`)
    await fill(database, startS)
    process.stdout.write(
      `synthetic month on ${DB}: ${REQUESTS.toLocaleString('en')} requests, ${USERS} users, ${MODELS.length} models, ${DAYS} days, retention ${RETENTION_DAYS} days\n`,
    )
    report('written', await readStorage(database))
    const nowS = startS + (DAYS + RETENTION_DAYS + 1) * DAY_S
    const done = await rollupAndPrune(database, nowS, RETENTION_DAYS)
    if (done === null) {
      process.stdout.write('rollup + prune: not available on this branch (see the HOOK)\n')
      return
    }
    process.stdout.write(`rollup + prune: ${done}\n`)
    report('after rollup + prune', await readStorage(database))
    await compact(database)
    report('after VACUUM', await readStorage(database))
  } finally {
    await database.close()
    if (pgDb) await pgDb.drop()
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${sqliteFile}${suffix}`, { force: true })
  }
}

main().catch((error) => {
  log(`storage failed: ${(error as Error).stack ?? error}`)
  process.exitCode = 1
})
