import { rmSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import SqliteDatabase from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import type { Database } from '../../db/client.ts'
import { migrateToLatest } from '../../db/migrate.ts'
import type { DB } from '../../db/tables.ts'
import { reserve, settle } from '../../src/ledger/service.ts'
import { createLedgerStore } from '../../src/ledger/store.ts'
import { median } from '../proc/stats.ts'
import { createRawLedger } from './ledger-raw.ts'
import { ACTUAL, ASK, benchUser } from './ledger-setup.ts'

/**
 * The hot path's ledger alone, in-process on SQLite: one reserve and one settle per iteration
 * (the gateway's own ledger.service functions, unlimited plan), CPU per iteration: without and
 * with better-sqlite3 statements cached by SQL text for the queries that still go through Kysely
 * (kysely's SqliteDriver prepares every query anew; db/client.ts caches; the ledger's own writes
 * run on raw statements either way, store.sqlite.ts), then hand-written SQL on raw prepared statements (bench/scenarios/ledger-raw.ts)
 * as the lower bound. `npx tsx bench/scenarios/ledger-micro.ts`
 */
const ITERATIONS = Number(process.env.LEDGER_ITERATIONS ?? 3000)

function openSqlite(
  path: string,
  cacheStatements: boolean,
): Database & { handle: SqliteDatabase.Database } {
  const handle = new SqliteDatabase(path)
  handle.pragma('journal_mode = WAL')
  handle.pragma('busy_timeout = 5000')
  handle.pragma('synchronous = NORMAL')
  handle.pragma('foreign_keys = ON')
  // LEDGER_WAL_AUTOCHECKPOINT=0 shows what the checkpoints run inside commits cost.
  if (process.env.LEDGER_WAL_AUTOCHECKPOINT) {
    handle.pragma(`wal_autocheckpoint = ${Number(process.env.LEDGER_WAL_AUTOCHECKPOINT)}`)
  }
  const cache = new Map<string, SqliteDatabase.Statement>()
  const database = cacheStatements
    ? {
        close: () => handle.close(),
        prepare(sql: string) {
          let statement = cache.get(sql)
          if (!statement) {
            statement = handle.prepare(sql)
            cache.set(sql, statement)
          }
          return statement
        },
      }
    : handle
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database }) })
  return { db, dialect: 'sqlite', sqlite: handle, close: () => db.destroy(), handle }
}

type Variant = 'plain' | 'cached' | 'raw' | 'raw-no-usage'

async function run(label: string, variant: Variant) {
  const cacheStatements = variant !== 'plain'
  const path = `/tmp/bench-ledger-${process.pid}-${variant}.db`
  const database = openSqlite(path, cacheStatements)
  await migrateToLatest(database.db)
  // One reserve and one settle at a time: a settle must not wait for a next reserve (the close
  // window, ledger/store.ts), which this loop only sends once the settle is done.
  const { deps, entitlement } = await benchUser(database, (db) =>
    createLedgerStore(db, {}, { closeWindowMs: 0 }),
  )
  const amounts = ASK
  const actual = ACTUAL
  const raw = createRawLedger(database.handle, variant !== 'raw-no-usage')
  const key = {
    id: entitlement.subscription.id,
    start: entitlement.subscription.current_period_start,
  }
  const once =
    variant === 'raw' || variant === 'raw-no-usage'
      ? async () => {
          const requestId = deps.ids.next()
          raw.reserve(requestId, key, amounts)
          raw.settle(requestId, key, actual, () => deps.ids.next())
        }
      : async () => {
          const requestId = deps.ids.next()
          const result = await reserve(deps, entitlement, {
            requestId,
            amounts,
            modelId: 'gpt-4o-mini',
          })
          if (!result.ok) throw new Error('refused')
          await settle(deps, requestId, actual)
        }
  for (let i = 0; i < 500; i++) await once()
  const rounds: number[] = []
  for (let round = 0; round < 3; round++) {
    const cpu = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < ITERATIONS; i++) await once()
    const used = process.cpuUsage(cpu)
    rounds.push((used.user + used.system) / ITERATIONS)
    if (round === 2) {
      const wall = ((performance.now() - t0) * 1000) / ITERATIONS
      process.stdout.write(
        `${label.padEnd(44)} ${median(rounds).toFixed(0).padStart(5)} µs CPU, ${wall.toFixed(0)} µs wall per reserve + settle\n`,
      )
    }
  }
  await database.close()
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true })
}

await run('ledger.service, no statement cache', 'plain')
await run('ledger.service, statements cached (as db/client.ts)', 'cached')
await run('same SQL, raw prepared statements', 'raw')
await run('raw, without the usage row', 'raw-no-usage')
