import { rmSync } from 'node:fs'
import SqliteDatabase from 'better-sqlite3'

/**
 * The least a metering gateway can write per call, for the `floor+ledger` target
 * (floor-proxy.ts with FLOOR_LEDGER set): before forwarding, a durable reservation
 * (the counter raised and a reservation row, so a crash mid-call can still be
 * billed); after the answer, a durable settle (the reservation deleted, the
 * counter moved, one usage row). Raw better-sqlite3 statements on a schema of
 * three small tables with one index for reads, every write of an event-loop turn
 * in one transaction (one commit), the answer sent before its settle is written.
 * No admission rule beyond a plain limit, no plans, no ids of its own. It is a
 * bound, not a design: what the gateway costs above it is the price of its
 * features (auth, plans, the whole-request estimate, metrics, logs).
 */
export interface FloorLedger {
  /** Resolves once the reservation is committed. */
  reserve(requestId: string, userId: string, tokens: number): Promise<void>
  /** Queues the settle: it commits in the next turn, with that turn's reserves. */
  settle(requestId: string, userId: string, model: string, input: number, output: number): void
  /** Closes the database and removes its files. */
  close(): void
}

interface Queued {
  reserves: Array<{ requestId: string; userId: string; tokens: number; done: () => void }>
  settles: Array<{ requestId: string; userId: string; model: string; used: number }>
}

export function openFloorLedger(path: string): FloorLedger {
  const remove = () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
  }
  remove()
  const db = new SqliteDatabase(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(`
    CREATE TABLE counter (user_id TEXT PRIMARY KEY, used INTEGER NOT NULL, reserved INTEGER NOT NULL, max INTEGER NOT NULL);
    CREATE TABLE reservation (request_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, tokens INTEGER NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE usage (id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, user_id TEXT NOT NULL, model TEXT, tokens INTEGER NOT NULL, created_at INTEGER NOT NULL);
    CREATE INDEX usage_user_time ON usage (user_id, created_at);`)
  const ensureUser = db.prepare(
    'INSERT OR IGNORE INTO counter (user_id, used, reserved, max) VALUES (?, 0, 0, 9e15)',
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

  const write = db.transaction((batch: Queued) => {
    const now = Math.floor(Date.now() / 1000)
    for (const s of batch.settles) {
      const row = take.get(s.requestId) as { tokens: number } | undefined
      if (!row) continue
      move.run(s.used, row.tokens, s.userId)
      record.run(s.requestId, s.userId, s.model, s.used, now)
    }
    for (const r of batch.reserves) {
      ensureUser.run(r.userId)
      raise.run(r.tokens, r.userId, r.tokens)
      hold.run(r.requestId, r.userId, r.tokens, now)
    }
  })

  let queued: Queued = { reserves: [], settles: [] }
  let scheduled = false
  const flush = () => {
    scheduled = false
    const batch = queued
    queued = { reserves: [], settles: [] }
    write(batch)
    for (const r of batch.reserves) r.done()
  }
  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(flush)
  }
  return {
    reserve: (requestId, userId, tokens) =>
      new Promise<void>((done) => {
        queued.reserves.push({ requestId, userId, tokens, done })
        schedule()
      }),
    settle(requestId, userId, model, input, output) {
      queued.settles.push({ requestId, userId, model, used: input + output })
      schedule()
    },
    close() {
      db.close()
      remove()
    },
  }
}
