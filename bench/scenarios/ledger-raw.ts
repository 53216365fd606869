import type SqliteDatabase from 'better-sqlite3'

type Amounts = { requests: number; tokens_input: number; tokens_output: number }
type Key = { id: string; start: number }

/**
 * The ledger's reserve and settle as hand-written SQL on prepared better-sqlite3 statements:
 * the lower bound of what the database part of a request costs on SQLite, for
 * bench/scenarios/ledger-micro.ts. A period's counters are one row (migration 0018): one
 * UPDATE reserves, one moves them at the settle, with no admission rule. Without the usage row:
 * what writing it costs.
 */
export function createRawLedger(db: SqliteDatabase.Database, withUsageRow = true) {
  const where = 'WHERE subscription_id = ? AND period_start = ?'
  const bump = db.prepare(
    `UPDATE billing_quota_counter SET requests_reserved = requests_reserved + ?,
       tokens_input_reserved = tokens_input_reserved + ?, tokens_output_reserved = tokens_output_reserved + ?
     ${where} RETURNING requests_used, requests_reserved, tokens_input_used, tokens_input_reserved,
       tokens_output_used, tokens_output_reserved`,
  )
  const move = db.prepare(
    `UPDATE billing_quota_counter SET requests_used = requests_used + ?,
       tokens_input_used = tokens_input_used + ?, tokens_output_used = tokens_output_used + ?,
       requests_reserved = requests_reserved - ?, tokens_input_reserved = tokens_input_reserved - ?,
       tokens_output_reserved = tokens_output_reserved - ?, updated_at = ? ${where}`,
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
    bump.get(a.requests, a.tokens_input, a.tokens_output, key.id, key.start)
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
    const { requests, tokens_input, tokens_output } = r
    move.run(
      a.requests,
      a.tokens_input,
      a.tokens_output,
      requests,
      tokens_input,
      tokens_output,
      t,
      key.id,
      key.start,
    )
    if (withUsageRow) {
      insertUsage.run(id(), key.id, requestId, t, a.requests, a.tokens_input, a.tokens_output)
    }
  })
  return { reserve, settle }
}
