import { createServer, type Server, connect as tcpConnect } from 'node:net'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { createDb, type Database } from '../../db/client.ts'
import { isDatabaseUnavailable } from '../../src/http/on-error.ts'
import { adminQuery, TEST_DIALECT, TEST_POSTGRES_URL } from '../helpers/test-database.ts'

/**
 * A PostgreSQL backend terminated just as its connection becomes ready: the
 * server's ReadyForQuery and its FATAL 57P01 ("terminating connection due to
 * administrator command") reach the gateway in one TCP read. pg parses both
 * before the pool's checkout promise continues, so a listener added at
 * checkout comes too late and the unheard 'error' kills the process (seen
 * once under the reliability suite's outage, backends terminated every
 * 150 ms). A loopback TCP proxy in front of the real server makes that timing
 * certain: it holds the server's bytes from the first ReadyForQuery on,
 * terminates that backend, and forwards everything, FATAL included, in one
 * write. The query fails as "database unavailable" (a 503), the next one works.
 */
describe.skipIf(TEST_DIALECT !== 'postgres')('PostgreSQL backend terminated at connect', () => {
  let proxy: Server | undefined
  let database: Database | undefined
  afterEach(async () => {
    await database?.close()
    database = undefined
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()))
    proxy = undefined
  })

  it('the query fails as database unavailable, the process lives, the next connection works', async () => {
    const target = new URL(TEST_POSTGRES_URL)
    let connections = 0
    let terminated = 0
    let termination: Promise<void> = Promise.resolve()
    proxy = createServer((client) => {
      const server = tcpConnect(Number(target.port || 5432), target.hostname)
      const first = connections++ === 0
      client.on('data', (chunk) => server.write(chunk))
      client.on('error', () => server.destroy())
      server.on('error', () => client.destroy())
      server.on('close', () => client.end())
      client.on('close', () => server.destroy())
      if (!first) {
        server.on('data', (chunk) => client.write(chunk))
        return
      }
      let held = Buffer.alloc(0)
      let phase: 'startup' | 'terminating' | 'passing' = 'startup'
      server.on('data', (chunk: Buffer) => {
        if (phase === 'passing') {
          client.write(chunk)
          return
        }
        held = Buffer.concat([held, chunk])
        const messages = parseMessages(held)
        if (phase === 'startup' && messages.some((m) => m.type === 'Z')) {
          // BackendKeyData: Int32 process id, then the cancel key.
          const pid = messages.find((m) => m.type === 'K')!.body.readInt32BE(0)
          phase = 'terminating'
          termination = adminQuery(`SELECT pg_terminate_backend(${pid})`).then(() => {
            terminated++
          })
        }
        if (phase === 'terminating' && messages.some((m) => m.type === 'E')) {
          phase = 'passing'
          client.write(held)
        }
      })
    })
    await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve))
    const { port } = proxy.address() as { port: number }
    const url = new URL(TEST_POSTGRES_URL)
    url.host = `127.0.0.1:${port}`
    database = createDb(url.href)

    const failed = await sql`SELECT 1 AS one`.execute(database.db).then(
      () => null,
      (error: Error) => error,
    )
    await termination
    expect(terminated).toBe(1)
    expect(failed, 'the query on the terminated connection succeeded').toBeInstanceOf(Error)
    expect(isDatabaseUnavailable(failed), String(failed)).toBe(true)
    const next = await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db)
    expect(next.rows).toEqual([{ one: 1 }])
    expect(connections).toBe(2)
  })
})

/** The complete backend messages at the start of `buffer`: type byte, Int32 length, body. */
function parseMessages(buffer: Buffer): Array<{ type: string; body: Buffer }> {
  const messages = []
  let at = 0
  while (at + 5 <= buffer.length) {
    const length = buffer.readInt32BE(at + 1)
    if (at + 1 + length > buffer.length) break
    messages.push({
      type: String.fromCharCode(buffer[at]!),
      body: buffer.subarray(at + 5, at + 1 + length),
    })
    at += 1 + length
  }
  return messages
}
