import { describe, expect, it } from 'vitest'
import { call } from '../helpers/billing.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'

/**
 * return_url over HTTP, against the fake YooKassa: refused ones are 400 naming
 * return_url with nothing stored or sent; accepted ones reach YooKassa as the
 * normalised href, the string that was checked.
 */
const f = usePaymentsFixture({
  env: { BILLING_RETURN_HOSTS: 'app.example,shop.example:8443,localhost:5173' },
})

async function checkout(returnUrl: string) {
  return call(
    f.h,
    'POST',
    '/api/v1/billing/payment',
    { plan_id: 'pro', return_url: returnUrl },
    await f.h.token({ sub: 'u1' }),
  )
}

/** The return_url of every payment the fake YooKassa was asked to create. */
function sentReturnUrls() {
  return f.fake
    .requestsTo('POST', /^\/payments$/)
    .map((r) => (r.body as { confirmation?: { return_url?: string } }).confirmation?.return_url)
}

describe('return_url', () => {
  it.each([
    ['plain http on a public host', 'http://app.example/r'],
    ['plain http on loopback not listed', 'http://127.0.0.1:5173/r'],
    ['a host not listed', 'https://evil.example/r'],
    ['a look-alike suffix', 'https://app.example.evil.example/r'],
    ['a port the list does not name', 'https://app.example:8443/r'],
    ['CR/LF inside', 'https://app.example/r\r\nLocation: https://evil.example/'],
    ['a trailing newline', 'https://app.example/r\n'],
    ['a backslash', 'https://evil.example\\@app.example/'],
    ['a space', 'https://app.example/r x'],
    ['a tab in the host', 'https://app.ex\tample/r'],
    ['user info', 'https://user:pw@app.example/r'],
    ['a relative URL', '/billing/return'],
    ['another scheme', 'javascript://app.example/%0aalert(1)'],
  ])('refuses %s with 400 naming return_url, sending and storing nothing', async (_what, url) => {
    const res = await checkout(url)
    expect(res.status, res.text).toBe(400)
    expect(res.body.error, res.text).toMatchObject({ code: 'invalid_request', param: 'return_url' })
    expect(res.body.error.message).toContain('return_url')
    expect(sentReturnUrls()).toEqual([])
    expect(await f.h.db.selectFrom('billing_transaction').select('id').execute()).toEqual([])
  })

  it('accepts https on a listed host, a listed port and http on listed localhost', async () => {
    for (const url of [
      'https://app.example/r',
      'https://shop.example:8443/back',
      'http://localhost:5173/billing',
    ]) {
      const res = await checkout(url)
      expect(res.status, `${url}: ${res.text}`).toBe(201)
    }
    expect(sentReturnUrls()).toEqual([
      'https://app.example/r',
      'https://shop.example:8443/back',
      'http://localhost:5173/billing',
    ])
  })

  it('sends YooKassa the normalised URL (case, default port, dot segments, encoding)', async () => {
    const res = await checkout('HTTPS://App.Example:443/a/../done?q=ü#top')
    expect(res.status, res.text).toBe(201)
    expect(sentReturnUrls()).toEqual(['https://app.example/done?q=%C3%BC#top'])
    const row = await f.h.db
      .selectFrom('billing_transaction')
      .select('metadata')
      .executeTakeFirstOrThrow()
    // The stored request (replayed after a crash) carries the same normalised string.
    expect(JSON.parse(row.metadata).request.confirmation.return_url).toBe(
      'https://app.example/done?q=%C3%BC#top',
    )
  })
})
