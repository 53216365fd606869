import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createProcessDatabase,
  type ProcessDatabase,
  type RunningGateway,
  startProcess,
} from '../helpers/spawn-gateway.ts'
import {
  BROWSER_TEST_MS,
  expectAccessible,
  type Page,
  signInByLink,
  skipBrowser,
  useBrowser,
} from './browser.ts'

/**
 * `npm run demo` as a newcomer clicks through it: the real demo entry as a
 * child process, its printed sign-in link opened in Chromium, usage moving,
 * the 429, Pro paid on the sandbox's checkout page, "succeeded" on the return
 * page, and the next request answered.
 */
function field(text: string, label: string) {
  const escaped = label.replace(/[()]/g, '\\$&')
  return new RegExp(`^  ${escaped}\\s+(\\S+)$`, 'm').exec(text)?.[1]
}

async function waitForBanner(demo: RunningGateway) {
  for (let i = 0; i < 900; i++) {
    if (field(demo.output(), 'Sign in (demo user)')) return demo.output()
    if (demo.child.exitCode !== null) throw new Error(`demo exited:\n${demo.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`no banner with sign-in links:\n${demo.output()}`)
}

describe.skipIf(skipBrowser)('npm run demo in Chromium', () => {
  const browser = useBrowser()
  let database: ProcessDatabase
  let demo: RunningGateway
  let banner: string
  let client: OpenAI

  beforeAll(async () => {
    database = await createProcessDatabase()
    demo = startProcess('src/demo/main.ts', [], { PORT: '0', DEMO_DATABASE_URL: database.url })
    banner = await waitForBanner(demo)
    const apiKey = field(banner, 'API key (demo user)')!
    client = new OpenAI({ baseURL: `${field(banner, 'Gateway')}/v1`, apiKey, maxRetries: 0 })
  }, BROWSER_TEST_MS)
  afterAll(async () => {
    await demo?.stop('SIGTERM')
    await database?.drop()
  })

  const chat = () =>
    client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hello!' }],
      max_tokens: 32,
    })
  const requestsUsed = (page: Page) =>
    page.locator('[data-metric="requests"] .label span').first().textContent()

  it(
    'signs in by link, shows usage, 429, pays on the sandbox, shows success, then 200',
    async () => {
      const gateway = field(banner, 'Gateway')!
      const sandbox = field(banner, 'YooKassa sandbox')!
      const { page, errors } = await browser.open()
      await signInByLink(page, field(banner, 'Sign in (demo user)')!)
      expect(new URL(page.url()).pathname).toBe('/billing')
      expect(await page.getByTestId('current-plan').textContent()).toBe('Free')

      await chat()
      await chat()
      await page.reload()
      expect(await requestsUsed(page)).toBe('2 of 20 used')

      for (let i = 2; i < 20; i++) await chat()
      await expect(chat()).rejects.toMatchObject({ status: 429 })
      await page.reload()
      expect(await requestsUsed(page)).toBe('20 of 20 used')

      // The spent quota's banner carries the upgrade, at the top of the page.
      await page
        .getByTestId('quota-banner')
        .locator('form[action="/billing/pay"]:has(input[value="pro"]) button')
        .click()
      await page.waitForURL(`${sandbox}/checkout/**`)
      await expectAccessible(page)
      await page.getByRole('button', { name: 'Pay' }).click()
      await page.waitForURL(`${gateway}/billing/return**`)
      await page.waitForSelector('[data-testid="payment-status"][data-status="succeeded"]')
      expect(await page.getByTestId('payment-status').textContent()).toContain('Pro')
      expect(await requestsUsed(page)).toBe('0 of 10,000 used')

      const answer = await chat()
      expect(answer.choices[0]?.message.content).toBeTruthy()
      await page.goto(`${gateway}/billing`)
      expect(await page.getByTestId('current-plan').textContent()).toBe('Pro')
      expect(await requestsUsed(page)).toBe('1 of 10,000 used')
      expect(errors).toEqual([])
    },
    BROWSER_TEST_MS,
  )
})
