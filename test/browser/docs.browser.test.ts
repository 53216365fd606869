import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { BROWSER_TEST_MS, skipBrowser, useBrowser } from './browser.ts'

/** /docs in a real browser: Swagger UI from the gateway alone renders the document, CSP intact. */
describe.skipIf(skipBrowser)('the API docs page in Chromium', () => {
  const browser = useBrowser()
  let h: Harness
  let base: string
  beforeAll(async () => {
    h = await createHarness()
    base = await h.listen()
  })
  afterAll(async () => {
    await h?.close()
  })

  it(
    'renders every tag and operation with no request to another host',
    async () => {
      const { context, page, errors } = await browser.open()
      page.on('response', (response) => {
        if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`)
      })
      const elsewhere: string[] = []
      page.on('request', (request) => {
        if (!request.url().startsWith(base) && !request.url().startsWith('data:'))
          elsewhere.push(request.url())
      })
      await page.goto(`${base}/docs`)
      await page.getByText('LLM quota gateway', { exact: false }).first().waitFor()
      await page.getByRole('heading', { name: 'Admin' }).waitFor()
      // An operation opens with its request body, generated from the route's validator.
      await page.getByText('Create a plan (admin)').click()
      await page.getByText('display_order').first().waitFor()
      const operations = await page.locator('.opblock').count()
      const doc = (await (await h.request('/openapi.json')).json()) as {
        paths: Record<string, object>
      }
      const documented = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0)
      expect(operations).toBe(documented)
      expect(elsewhere).toEqual([])
      expect(errors).toEqual([])
      await context.close()
    },
    BROWSER_TEST_MS,
  )
})
