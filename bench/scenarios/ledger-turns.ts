import { rmSync } from 'node:fs'
import { createDb } from '../../db/client.ts'
import { migrateToLatest } from '../../db/migrate.ts'
import { reserve, settle } from '../../src/ledger/service.ts'
import { createLedgerStore } from '../../src/ledger/store.ts'
import { cpuMicros, median } from '../proc/stats.ts'
import { createBenchDatabase } from '../targets/postgres.ts'
import { ACTUAL, ASK, benchUser } from './ledger-setup.ts'

/**
 * The ledger under concurrency, in-process on SQLite (db/client.ts as the gateway opens it):
 * LEDGER_CLIENTS clients (default 16), each reserving, waiting one event-loop turn (the
 * upstream), then settling without waiting for it (the answer leaves first) and reserving
 * again. Prints CPU per request and commits per request, per close window; with
 * LEDGER_DB=postgres (a database of its own on 127.0.0.1:5432) also its backends' CPU.
 * `npx tsx bench/scenarios/ledger-turns.ts` (LEDGER_WINDOWS=0,3 LEDGER_REQUESTS=4000)
 */
const POSTGRES = process.env.LEDGER_DB === 'postgres'
const CLIENTS = Number(process.env.LEDGER_CLIENTS ?? 16)
const REQUESTS = Number(process.env.LEDGER_REQUESTS ?? 4000)
const WINDOWS = (process.env.LEDGER_WINDOWS ?? '0,3').split(',').map(Number)

async function run(windowMs: number) {
  const path = `/tmp/bench-ledger-turns-${process.pid}.db`
  const pg = POSTGRES ? await createBenchDatabase() : undefined
  const database = createDb(pg ? pg.url : path)
  await migrateToLatest(database.db)
  let commits = 0
  let batches = 0
  const observer = {
    onCommit: () => commits++,
    // Before the turns there was no onCommit: each batch was its own commit.
    onBatch: () => batches++,
  }
  let hasOnCommit = false
  const { deps, entitlement } = await benchUser(database, (db) => {
    const ledger = createLedgerStore(db, observer, { closeWindowMs: windowMs })
    hasOnCommit = 'hurry' in ledger
    return ledger
  })
  const amounts = ASK
  const actual = ACTUAL
  const pending = new Set<Promise<unknown>>()

  async function load(requests: number) {
    let left = requests
    const client = async () => {
      while (left-- > 0) {
        const requestId = deps.ids.next()
        const result = await reserve(deps, entitlement, { requestId, amounts })
        if (!result.ok) throw new Error('refused')
        await new Promise((resolve) => setImmediate(resolve))
        const write = settle(deps, requestId, actual)
        pending.add(write)
        write.finally(() => pending.delete(write))
      }
    }
    await Promise.all(Array.from({ length: CLIENTS }, client))
    deps.ledger.hurry?.()
    await Promise.all(pending)
  }

  await load(1000)
  const cpu: number[] = []
  const dbCpu: number[] = []
  const perCommit: number[] = []
  const backends = (await pg?.backendPids()) ?? []
  const serverCpu = () => {
    let total = 0
    for (const pid of backends) {
      try {
        total += cpuMicros(pid)
      } catch {} // a backend that ended
    }
    return total
  }
  for (let round = 0; round < 3; round++) {
    commits = 0
    batches = 0
    const serverStart = serverCpu()
    const start = process.cpuUsage()
    await load(REQUESTS)
    const used = process.cpuUsage(start)
    cpu.push((used.user + used.system) / REQUESTS)
    dbCpu.push((serverCpu() - serverStart) / REQUESTS)
    perCommit.push((hasOnCommit ? commits : batches) / REQUESTS)
  }
  process.stdout.write(
    `${POSTGRES ? 'postgres' : 'sqlite'}, ${CLIENTS} clients, close window ${windowMs} ms${hasOnCommit ? '' : ' (no turns)'}: ${median(cpu).toFixed(0)} µs CPU per request${pg ? ` + ${median(dbCpu).toFixed(0)} in the server` : ''}, ${median(perCommit).toFixed(2)} commits per request\n`,
  )
  await database.close()
  await pg?.drop()
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true })
}

for (const windowMs of WINDOWS) await run(windowMs)
