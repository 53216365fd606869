import type SqliteDatabase from 'better-sqlite3'

type Amounts = { requests: number; tokens_input: number; tokens_output: number }
type Key = { id: string; start: number }
const METRICS = ['requests', 'tokens_input', 'tokens_output'] as const

/**
 * The ledger's reserve and settle as hand-written SQL on prepared better-sqlite3 statements:
 * the lower bound of what the database part of a request costs on SQLite, for
 * bench/scenarios/ledger-micro.ts. `merged` updates the three counters with one statement each time.
 */
export function createRawLedger(db: SqliteDatabase.Database, merged: boolean) {
  const where = 'WHERE subscription_id = ? AND period_start = ? AND metric = ?'
  const bump = db.prepare(
    `UPDATE billing_quota_counter SET reserved = reserved + ? ${where} RETURNING used, reserved`,
  )
  const move = db.prepare(
    `UPDATE billing_quota_counter SET used = used + ?, reserved = reserved - ?, updated_at = ? ${where}`,
  )
  const bumpAll = db.prepare(
    `UPDATE billing_quota_counter SET reserved = reserved + CASE metric WHEN 'requests' THEN ? WHEN 'tokens_input' THEN ? ELSE ? END
     WHERE subscription_id = ? AND period_start = ? AND metric IN ('requests', 'tokens_input', 'tokens_output') RETURNING metric, used, reserved`,
  )
  const moveAll = db.prepare(
    `UPDATE billing_quota_counter SET used = used + CASE metric WHEN 'requests' THEN ? WHEN 'tokens_input' THEN ? ELSE ? END,
       reserved = reserved - CASE metric WHEN 'requests' THEN ? WHEN 'tokens_input' THEN ? ELSE ? END, updated_at = ?
     WHERE subscription_id = ? AND period_start = ? AND metric IN ('requests', 'tokens_input', 'tokens_output')`,
  )
  const insertReservation = db.prepare(
    `INSERT INTO billing_reservation (request_id, user_id, subscription_id, period_start, requests, tokens_input, tokens_output, model_id, chat_id, created_at)
     VALUES (?, 'u1', ?, ?, ?, ?, ?, 'gpt-4o-mini', NULL, ?)`,
  )
  const take = db.prepare('DELETE FROM billing_reservation WHERE request_id = ? RETURNING *')
  const insertUsage = db.prepare(
    `INSERT INTO billing_usage (id, user_id, subscription_id, model_id, chat_id, request_id, estimated, created_at, requests, tokens_input, tokens_output)
     VALUES (?, 'u1', ?, 'gpt-4o-mini', NULL, ?, 0, ?, ?, ?, ?)`,
  )
  const now = () => Math.floor(Date.now() / 1000)

  const reserve = db.transaction((requestId: string, key: Key, a: Amounts) => {
    if (merged) bumpAll.all(a.requests, a.tokens_input, a.tokens_output, key.id, key.start)
    else for (const m of METRICS) bump.get(a[m], key.id, key.start, m)
    insertReservation.run(
      requestId,
      key.id,
      key.start,
      a.requests,
      a.tokens_input,
      a.tokens_output,
      now(),
    )
  })
  const settle = db.transaction((requestId: string, key: Key, a: Amounts, id: () => string) => {
    const r = take.get(requestId) as Amounts | undefined
    if (!r) return
    const t = now()
    if (merged) {
      moveAll.run(
        a.requests,
        a.tokens_input,
        a.tokens_output,
        r.requests,
        r.tokens_input,
        r.tokens_output,
        t,
        key.id,
        key.start,
      )
    } else for (const m of METRICS) move.run(a[m], r[m], t, key.id, key.start, m)
    insertUsage.run(id(), key.id, requestId, t, a.requests, a.tokens_input, a.tokens_output)
  })
  return { reserve, settle }
}
