import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDb } from '../../db/client.ts'
import { createApp } from '../../src/app.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'

describe('operational routes', () => {
  let h: Harness
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    await h?.close()
  })

  it('GET /healthz answers 200 without credentials, with a request id', async () => {
    h = await createHarness()
    const res = await h.request('/healthz')
    const text = await res.text()
    expect(res.status, text).toBe(200)
    expect(JSON.parse(text), text).toEqual({ status: 'ok' })
    expect(res.headers.get('x-request-id'), text).toBeTruthy()
  })

  it('GET /readyz is 200 when the database is reachable and every migration is applied', async () => {
    h = await createHarness()
    const res = await h.request('/readyz')
    const text = await res.text()
    expect(res.status, text).toBe(200)
    expect(JSON.parse(text), text).toMatchObject({
      status: 'ready',
      database: h.deps.database.dialect,
    })
  })

  it('GET /readyz is 503 naming the pending migrations on a database that was never migrated', async () => {
    h = await createHarness()
    // Swap the database through Deps (not a mock): an empty SQLite file with no migration applied.
    const dir = mkdtempSync(join(tmpdir(), 'gateway-unmigrated-'))
    const empty = createDb(`sqlite:${join(dir, 'empty.db')}`)
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    cleanups.push(() => empty.close())
    const app = createApp({ ...h.deps, database: empty })

    const res = await app.request('/readyz')
    const text = await res.text()
    expect(res.status, text).toBe(503)
    expect(JSON.parse(text), text).toMatchObject({
      status: 'migrations_pending',
      pending: expect.arrayContaining(['0001_init']),
    })
  })

  it('GET /readyz is 503 when the database is unreachable', async () => {
    h = await createHarness()
    const closed = h.testDatabase.open()
    // Kysely opens its driver lazily and close() before a first query is a no-op: use it once.
    await closed.db.selectFrom('gateway_user').select('id').execute()
    await closed.close()
    const app = createApp({ ...h.deps, database: closed })

    const res = await app.request('/readyz')
    const text = await res.text()
    expect(res.status, text).toBe(503)
    expect(JSON.parse(text), text).toMatchObject({ status: 'database_unreachable' })
  })

  it('GET /metrics serves Prometheus text that counts the requests answered', async () => {
    h = await createHarness()
    await h.request('/healthz')
    await h.request('/no/such/route')
    const res = await h.request('/metrics', { headers: h.auth(await h.adminToken()) })
    const text = await res.text()
    expect(res.status, text).toBe(200)
    expect(res.headers.get('content-type'), text).toMatch(/^text\/plain/)
    expect(text).toMatch(
      /gateway_http_requests_total\{[^}]*route="\/healthz"[^}]*status="200"[^}]*\} 1/,
    )
    expect(text).toMatch(/gateway_http_requests_total\{[^}]*status="404"[^}]*\} 1/)
    expect(text).toContain('gateway_http_request_duration_seconds_bucket')
  })
})
