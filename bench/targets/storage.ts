import { sql } from 'kysely'
import type { Database } from '../../db/client.ts'

/** What a gateway's database holds on disk, and per request recorded. */
export interface StorageReading {
  dialect: Database['dialect']
  /**
   * SQLite: the database file after a checkpoint (page_count x page_size, the WAL folded in).
   * PostgreSQL: pg_total_relation_size (heap, indexes, TOAST) summed over the billing_ tables.
   */
  bytes: number
  /** SQLite: the pages in use (free pages, left by deletes until a VACUUM, not counted). */
  liveBytes: number
  usageRows: number
  /** Distinct request ids in billing_usage: every settled request left at least one row. */
  requests: number
}

const one = async <T>(database: Database, query: ReturnType<typeof sql<T>>): Promise<T> =>
  (await query.execute(database.db)).rows[0]!

/** Reads the storage of an open database; on SQLite, checkpoints the WAL into the file first. */
export async function readStorage(database: Database): Promise<StorageReading> {
  const counts = await one(
    database,
    sql<{ rows: number | string; requests: number | string }>`
      SELECT count(*) AS rows, count(DISTINCT request_id) AS requests FROM billing_usage`,
  )
  const usage = { usageRows: Number(counts.rows), requests: Number(counts.requests) }
  if (database.dialect === 'sqlite') {
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(database.db)
    const pragma = async (name: string) =>
      Number(Object.values(await one(database, sql<object>`${sql.raw(`PRAGMA ${name}`)}`))[0])
    const pageSize = await pragma('page_size')
    const pages = await pragma('page_count')
    const free = await pragma('freelist_count')
    return {
      dialect: 'sqlite',
      bytes: pages * pageSize,
      liveBytes: (pages - free) * pageSize,
      ...usage,
    }
  }
  const size = await one(
    database,
    sql<{ bytes: number | string | null }>`
      SELECT sum(pg_total_relation_size(c.oid)) AS bytes
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND c.relname LIKE 'billing\\_%' AND n.nspname = current_schema()`,
  )
  const bytes = Number(size.bytes ?? 0)
  return { dialect: 'postgres', bytes, liveBytes: bytes, ...usage }
}

/** "630 B/request (63.0 MB, 100,000 requests, 300,000 usage rows)" */
export function storageLine(reading: StorageReading, requests = reading.requests): string {
  const per = requests > 0 ? (reading.bytes / requests).toFixed(0) : '-'
  const live =
    reading.liveBytes === reading.bytes
      ? ''
      : `, ${(reading.liveBytes / requests).toFixed(0)} B/request in use`
  return `${per} B/request${live} (${(reading.bytes / 1e6).toFixed(1)} MB, ${requests.toLocaleString('en')} requests, ${reading.usageRows.toLocaleString('en')} usage rows)`
}
