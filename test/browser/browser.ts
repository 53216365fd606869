import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect } from 'vitest'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Debian's Chromium driven by playwright-core: no browser download. .ci/run
 * installs the `chromium` package when it is missing; a developer machine
 * without it skips these tests with a warning (CI=true makes that a failure).
 */
export const CHROMIUM = '/usr/bin/chromium'
const isCi = /^(1|true|yes)$/i.test(process.env.CI ?? '')
if (!existsSync(CHROMIUM) && isCi)
  throw new Error(`${CHROMIUM} is missing: apt-get install chromium`)
if (!existsSync(CHROMIUM)) console.warn(`!! ${CHROMIUM} not found: browser tests skipped`)

/**
 * Browser tests run on SQLite only: the pages call the same services and SQL on
 * both databases, and test/integration/web.*.test.ts exercise every page and
 * form over HTTP on PostgreSQL too. What a browser adds (rendering, the CSP, the
 * script's polling and copy button, axe) does not depend on the database.
 */
export const skipBrowser = !existsSync(CHROMIUM) || TEST_DIALECT === 'postgres'

/** A browser test walks several pages; on a loaded 2-core machine one takes 20-40 s. */
export const BROWSER_TEST_MS = 120_000

export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'docs', 'screenshots')

const axeSource: string = createRequire(import.meta.url)('axe-core').source

export function launch(): Promise<Browser> {
  // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
}

/** A context in a language, 1000 x 760 CSS pixels at scale 1 (small screenshots). */
export async function newContext(browser: Browser, locale: 'en-US' | 'ru-RU' = 'en-US') {
  return browser.newContext({
    locale,
    viewport: { width: 1000, height: 760 },
    deviceScaleFactor: 1,
  })
}

/** A page in a fresh context, and the console errors it records (watchConsole). */
export interface OpenedPage {
  context: BrowserContext
  page: Page
  errors: string[]
}

/**
 * Chromium for every test of the file: launched once before the first test
 * (about a second on this machine, so not once per test) and closed after the last.
 */
export function useBrowser() {
  let browser: Browser | undefined
  beforeAll(async () => {
    browser = await launch()
  })
  afterAll(() => browser?.close())
  return {
    async open(locale?: 'en-US' | 'ru-RU'): Promise<OpenedPage> {
      if (!browser) throw new Error('useBrowser: open() called outside a test')
      const context = await newContext(browser, locale)
      const page = await context.newPage()
      return { context, page, errors: watchConsole(page) }
    },
  }
}

/**
 * Signs in as a person does: opens the link (a page with a button; opening
 * spends nothing) and presses its button, whose POST signs in and redirects.
 */
export async function signInByLink(page: Page, url: string) {
  await page.goto(url)
  await Promise.all([
    page.waitForURL((current) => !current.pathname.startsWith('/signin/')),
    page.locator('form[action^="/signin/"] button[type="submit"]').click(),
  ])
}

/** Records console errors (a CSP violation shows up there) so a test can assert there were none. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(error.message))
  return errors
}

/**
 * axe-core in the page (evaluated through the DevTools protocol, so the page's
 * CSP still forbids inline scripts): no serious or critical violation.
 */
export async function expectAccessible(page: Page) {
  await page.evaluate(axeSource)
  const violations = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe and document are the page's globals (no DOM lib here)
    const g = globalThis as any
    const result = await g.axe.run(g.document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    })
    return result.violations
      .filter((v: { impact: string }) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: { id: string; impact: string; nodes: Array<{ target: string[] }> }) => ({
        id: v.id,
        impact: v.impact,
        targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
      }))
  })
  expect(violations, `${page.url()}: ${JSON.stringify(violations, null, 2)}`).toEqual([])
}

export type { Browser, BrowserContext, Page }
