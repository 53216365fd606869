import { rmSync } from 'node:fs'
import SqliteDatabase from 'better-sqlite3'
import pg from 'pg'

/**
 * The least a metering gateway can write per call, for the `floor+ledger` targets
 * (floor-proxy.ts with FLOOR_LEDGER set): before forwarding, a durable reservation
 * (the counter raised under its limit and a reservation row, so a crash mid-call
 * can still be billed); after the answer, a durable settle (the reservation
 * deleted, the counter moved, one usage row). Three small tables with one index
 * for reads; every write of an event-loop turn goes out together, one batch in
 * flight at a time (as the gateway's batcher), the answer sent before its settle
 * is written. On SQLite a batch is one transaction on raw better-sqlite3
 * statements; on PostgreSQL one statement (data-modifying CTEs), prepared once.
 * No plans, no ids of its own, no retry. It is a bound, not a design: what the
 * gateway costs above it is the price of its features (auth, plans, the
 * whole-request estimate, metrics, logs).
 */
export interface FloorLedger {
  /** Resolves once the reservation is committed. */
  reserve(requestId: string, userId: string, tokens: number): Promise<void>
  /** Queues the settle: it commits with the next batch. */
  settle(requestId: string, userId: string, model: string, input: number, output: number): void
  /** Closes the database and removes what it made. */
  close(): Promise<void>
}

interface Reserve {
  requestId: string
  userId: string
  tokens: number
}
interface Settle {
  requestId: string
  userId: string
  model: string
  used: number
}
interface Batch {
  reserves: Reserve[]
  settles: Settle[]
}
interface Writer {
  write(batch: Batch): void | Promise<void>
  close(): Promise<void>
}

/** FLOOR_LEDGER: a postgres:// URL (a database of the bench's own) or a SQLite file's path. */
export async function openFloorLedger(where: string): Promise<FloorLedger> {
  const writer = where.startsWith('postgres') ? await postgresWriter(where) : sqliteWriter(where)
  let queued: Array<Reserve & { done: () => void }> = []
  let settles: Settle[] = []
  let scheduled = false
  let writing = false
  const schedule = () => {
    if (scheduled || writing || (queued.length === 0 && settles.length === 0)) return
    scheduled = true
    setImmediate(flush)
  }
  const flush = async () => {
    scheduled = false
    writing = true
    const reserves = queued
    const batch = { reserves, settles }
    queued = []
    settles = []
    try {
      await writer.write(batch)
    } finally {
      writing = false
      for (const r of reserves) r.done()
      schedule()
    }
  }
  return {
    reserve: (requestId, userId, tokens) =>
      new Promise<void>((done) => {
        queued.push({ requestId, userId, tokens, done })
        schedule()
      }),
    settle(requestId, userId, model, input, output) {
      settles.push({ requestId, userId, model, used: input + output })
      schedule()
    },
    close: () => writer.close(),
  }
}

const TABLES = `
  CREATE TABLE counter (user_id TEXT PRIMARY KEY, used BIGINT NOT NULL, reserved BIGINT NOT NULL, max BIGINT NOT NULL);
  CREATE TABLE reservation (request_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, tokens BIGINT NOT NULL, created_at BIGINT NOT NULL);
  CREATE TABLE usage (id BIGINT PRIMARY KEY, request_id TEXT NOT NULL, user_id TEXT NOT NULL, model TEXT, tokens BIGINT NOT NULL, created_at BIGINT NOT NULL);
  CREATE INDEX usage_user_time ON usage (user_id, created_at);`
const NO_LIMIT = 9e15
const nowSeconds = () => Math.floor(Date.now() / 1000)

function sqliteWriter(path: string): Writer {
  const remove = () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
  }
  remove()
  const db = new SqliteDatabase(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  // SQLite's INTEGER PRIMARY KEY is the rowid: a usage row's id is given by the database.
  db.exec(TABLES.replace('id BIGINT PRIMARY KEY', 'id INTEGER PRIMARY KEY'))
  const ensureUser = db.prepare(
    `INSERT OR IGNORE INTO counter (user_id, used, reserved, max) VALUES (?, 0, 0, ${NO_LIMIT})`,
  )
  const raise = db.prepare(
    'UPDATE counter SET reserved = reserved + ? WHERE user_id = ? AND used + reserved + ? <= max',
  )
  const hold = db.prepare('INSERT INTO reservation VALUES (?, ?, ?, ?)')
  const take = db.prepare('DELETE FROM reservation WHERE request_id = ? RETURNING tokens')
  const move = db.prepare(
    'UPDATE counter SET used = used + ?, reserved = reserved - ? WHERE user_id = ?',
  )
  const record = db.prepare(
    'INSERT INTO usage (request_id, user_id, model, tokens, created_at) VALUES (?, ?, ?, ?, ?)',
  )
  const write = db.transaction(({ reserves, settles }: Batch) => {
    const now = nowSeconds()
    for (const s of settles) {
      const row = take.get(s.requestId) as { tokens: number } | undefined
      if (!row) continue
      move.run(s.used, row.tokens, s.userId)
      record.run(s.requestId, s.userId, s.model, s.used, now)
    }
    for (const r of reserves) {
      ensureUser.run(r.userId)
      raise.run(r.tokens, r.userId, r.tokens)
      hold.run(r.requestId, r.userId, r.tokens, now)
    }
  })
  return {
    write,
    async close() {
      db.close()
      remove()
    },
  }
}

/**
 * One statement a batch: the settles' reservations deleted, each user's counter moved by the
 * settles and raised by the reserves in one UPDATE (PostgreSQL would ignore a second update of
 * the same row in one statement), the usage and reservation rows inserted.
 */
const BATCH_SQL = `
  WITH settle AS (
    SELECT * FROM json_to_recordset($1::json) AS s(request_id text, user_id text, model text, used bigint)
  ), reserve AS (
    SELECT * FROM json_to_recordset($2::json) AS r(request_id text, user_id text, tokens bigint)
  ), taken AS (
    DELETE FROM reservation AS h USING settle
    WHERE h.request_id = settle.request_id
    RETURNING h.request_id, h.user_id, h.tokens, settle.used, settle.model
  ), delta AS (
    SELECT user_id, sum(used) AS used, sum(reserved) AS reserved FROM (
      SELECT user_id, used, -tokens AS reserved FROM taken
      UNION ALL SELECT user_id, 0, tokens FROM reserve
    ) AS d GROUP BY user_id
  ), moved AS (
    UPDATE counter AS c SET used = c.used + delta.used, reserved = c.reserved + delta.reserved
    FROM delta WHERE c.user_id = delta.user_id AND c.used + c.reserved + delta.reserved <= c.max
  ), recorded AS (
    INSERT INTO usage (id, request_id, user_id, model, tokens, created_at)
    SELECT nextval('usage_id'), request_id, user_id, model, used, $3 FROM taken
  )
  INSERT INTO reservation SELECT request_id, user_id, tokens, $3 FROM reserve`

async function postgresWriter(url: string): Promise<Writer> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query(`${TABLES} CREATE SEQUENCE usage_id;`)
  const users = new Set<string>()
  return {
    async write({ reserves, settles }) {
      for (const r of reserves) {
        if (users.has(r.userId)) continue
        await client.query(
          `INSERT INTO counter VALUES ($1, 0, 0, ${NO_LIMIT}) ON CONFLICT DO NOTHING`,
          [r.userId],
        )
        users.add(r.userId)
      }
      await client.query({
        name: 'floor_ledger_batch',
        text: BATCH_SQL,
        values: [
          JSON.stringify(
            settles.map((s) => ({ ...s, request_id: s.requestId, user_id: s.userId })),
          ),
          JSON.stringify(
            reserves.map((r) => ({ ...r, request_id: r.requestId, user_id: r.userId })),
          ),
          nowSeconds(),
        ],
      })
    },
    close: () => client.end(),
  }
}
