import SqliteDatabase from 'better-sqlite3'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { TEST_DIALECT, TEST_POSTGRES_URL } from '../helpers/test-database.ts'
import { audit } from './audit.ts'
import {
  type Answer,
  type Cluster,
  chat,
  planConfig,
  sleep,
  startCluster,
  untilNothingReserved,
} from './cluster.ts'

/**
 * The database goes away under traffic. PostgreSQL: every backend of the
 * gateway's connections is terminated (pg_terminate_backend) every 150 ms for
 * 3 s, while 8 clients keep sending. Only the gateway's own backends are
 * killed (found by application_name): the server and the other users of the
 * `test` database are left alone. SQLite: another connection holds the file
 * under an exclusive lock for 12 s (past
 * the gateway's 5 s busy_timeout; a shorter lock only delays requests). Either way a request gets its answer or a
 * clear 503 within a bound, never a hang; the gateway recovers by itself and
 * the audit holds (what the upstream served is billed, settles the database
 * refused are retried by the sweeper).
 */
/*
 * better-sqlite3 is synchronous: a write waiting on a lock holds the event loop for its whole
 * busy_timeout (5 s), and a failed batch retries its items one by one, so on SQLite the bound
 * is wider (measured: docs/reliability.md).
 */
const BOUND_MS = TEST_DIALECT === 'postgres' ? 30_000 : 90_000
/** SQLite waits busy_timeout (5 s) for a lock before failing: its outage must outlast that. */
const OUTAGE_MS = TEST_DIALECT === 'postgres' ? 3_000 : 12_000

describe(`reliability: database outage under traffic (${TEST_DIALECT})`, () => {
  let cluster: Cluster | undefined
  afterEach(async () => {
    await cluster?.close()
    cluster = undefined
  })

  it('answers 200 or a clear 503 within the bound, recovers by itself, and the audit holds', async () => {
    const appName = `reliability_${process.pid}_${Date.now()}`
    cluster = await startCluster(
      planConfig(
        { requests: 100_000 },
        { quota: { heartbeatIntervalMs: 200, ownerDeadAfterSeconds: 2 } },
      ),
      0,
    )
    const url = new URL(cluster.database.url)
    if (TEST_DIALECT === 'postgres') url.searchParams.set('application_name', appName)
    const replica = await cluster.start({ DATABASE_URL: url.href })
    const token = await cluster.token('outage')
    const ok = await chat(replica.base, token)
    expect('status' in ok && ok.status, JSON.stringify(ok)).toBe(200)

    let outage = true
    const answers: Array<Answer | Error> = []
    const clients = Array.from({ length: 8 }, async (_, i) => {
      while (outage) {
        answers.push(
          await chat(replica.base, token, {
            stream: i % 2 === 0,
            signal: AbortSignal.timeout(BOUND_MS),
          }),
        )
      }
    })
    const killed = await injectOutage(cluster, appName)
    outage = false
    await Promise.all(clients)

    const statuses = answers.map((a) =>
      'status' in a ? a.status : `${a.message} ${(a.cause as Error | undefined)?.message ?? ''}`,
    )
    const byStatus = Object.fromEntries(
      [...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length]),
    )
    const unavailable = answers.filter((a): a is Answer => 'status' in a && a.status === 503)
    // SQLite only: the locked write freezes the event loop (docs/reliability.md, "Findings left
    // open"); when it thaws, timers run before I/O, so a keep-alive connection the client reused
    // meanwhile can be closed by its idle timer with the new request unread: a reset, no answer.
    const resets = answers.filter((a) => !('status' in a) && isReset(a))
    const allowed = new Set<Answer | Error>(TEST_DIALECT === 'sqlite' ? resets : [])
    expect(
      statuses.every((s, i) => s === 200 || s === 503 || allowed.has(answers[i]!)),
      `${JSON.stringify(byStatus)} exit ${replica.gateway.child.exitCode} ${unhandled(replica.gateway.output())}`,
    ).toBe(true)
    expect(unavailable.length, JSON.stringify(byStatus)).toBeGreaterThan(0)
    for (const answer of unavailable) {
      expect(JSON.parse(answer.text).error.code).toBe('service_unavailable')
    }
    const slowest = Math.max(
      ...answers.map((a) => ('ms' in a ? a.ms : allowed.has(a) ? 0 : BOUND_MS)),
    )
    expect(slowest).toBeLessThan(BOUND_MS)

    // Recovery without a restart: the next requests are served.
    const after = await Promise.all(Array.from({ length: 10 }, () => chat(replica.base, token)))
    expect(after.map((a) => ('status' in a ? a.status : a.message))).toEqual(Array(10).fill(200))

    await untilNothingReserved(cluster.db, 20_000)
    const served = cluster.upstream.requests.length
    const report = await audit(cluster.db.db, {
      served: { requests: served, tokens_input: served * 12, tokens_output: served * 7 },
    })
    expect(report.violations, replica.gateway.output().slice(-3000)).toEqual([])
    process.stdout.write(
      `[reliability outage ${TEST_DIALECT}] ${answers.length} requests during ${OUTAGE_MS} ms of outage (${killed} backends killed): ${JSON.stringify(byStatus)}, ${resets.length} resets of a reused connection, slowest ${slowest} ms; upstream served ${served}, billed ${report.billed.requests}; audit ok\n`,
    )
  }, 240_000)
})

/** Takes the database away for OUTAGE_MS; returns how many backends were terminated. */
async function injectOutage(cluster: Cluster, appName: string): Promise<number> {
  await sleep(500)
  if (TEST_DIALECT !== 'postgres') {
    const path = cluster.database.url.replace(/^sqlite:/, '')
    const locker = new SqliteDatabase(path)
    locker.pragma('busy_timeout = 10000')
    locker.exec('BEGIN EXCLUSIVE')
    await sleep(OUTAGE_MS)
    locker.exec('COMMIT')
    locker.close()
    return 0
  }
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL })
  await admin.connect()
  let killed = 0
  try {
    const until = Date.now() + OUTAGE_MS
    while (Date.now() < until) {
      const { rowCount } = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`,
        [appName],
      )
      killed += rowCount ?? 0
      await sleep(150)
    }
  } finally {
    await admin.end()
  }
  return killed
}

/** A connection reset by the gateway before any answer (ECONNRESET, "other side closed"). */
function isReset(error: Error): boolean {
  const cause = error.cause as (Error & { code?: string }) | undefined
  return cause?.code === 'ECONNRESET' || cause?.code === 'UND_ERR_SOCKET'
}

/** The gateway's "unhandled error" log lines (a 500), or its last output when it died. */
function unhandled(output: string): string {
  const lines = output.split('\n').filter((line) => line.includes('unhandled error'))
  return lines.length > 0 ? lines.join('\n').slice(0, 4000) : output.slice(-3000)
}
