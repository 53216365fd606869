import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../helpers/harness.ts'

describe('smoke', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness()
  })
  afterAll(() => h.close())

  it('answers healthz and readyz', async () => {
    expect((await h.request('/healthz')).status).toBe(200)
    const ready = await h.request('/readyz')
    expect(ready.status, await ready.clone().text()).toBe(200)
  })

  it('creates, lists and revokes an API key', async () => {
    const token = await h.token({ sub: 'u1' })
    const created = await h.json('POST', '/api/v1/keys', { name: 'laptop' }, token)
    const body = (await created.json()) as { id: string; key: string }
    expect(created.status, JSON.stringify(body)).toBe(201)
    expect(body.key).toMatch(/^sk-/)
    const list = await h.request('/api/v1/keys', { headers: h.auth(body.key) })
    expect(list.status).toBe(200)
    const del = await h.request(`/api/v1/keys/${body.id}`, {
      method: 'DELETE',
      headers: h.auth(token),
    })
    expect(del.status).toBe(204)
    expect((await h.request('/api/v1/keys', { headers: h.auth(body.key) })).status).toBe(401)
  })
})
