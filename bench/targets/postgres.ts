import { connect } from 'node:net'
import pg from 'pg'

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test'

/** True when something listens on 127.0.0.1:5432 (the bench never looks anywhere else). */
export function postgresReachable(timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: 5432 })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

export interface BenchDatabase {
  url: string
  /** Server processes (backends) connected to this database now: their CPU is the database's share. */
  backendPids(): Promise<number[]>
  drop(): Promise<void>
}

/** A database of this run's own (bench_<pid><suffix>), dropped afterwards; nothing else is touched. */
export async function createBenchDatabase(suffix = ''): Promise<BenchDatabase> {
  const name = `bench_${process.pid}${suffix}`
  await adminQuery(`DROP DATABASE IF EXISTS ${name}`)
  await adminQuery(`CREATE DATABASE ${name}`)
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    async backendPids() {
      const rows = await adminQuery(
        `SELECT pid FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`,
      )
      return rows.map((row) => Number(row.pid))
    },
    // FORCE closes the connections a killed gateway may have left behind.
    async drop() {
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    },
  }
}

async function adminQuery(sql: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}
