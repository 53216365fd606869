import { mintSignInLink } from '../../src/web/sign-in.ts'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { useBrowser } from './browser.ts'

/**
 * The console's browser tests: the payments setting with an LLM upstream (a
 * fresh gateway per test), Chromium for the file, and the first step each test
 * takes: a payer who bought Pro, so the console lists a user, a payment to
 * refund and a margin.
 */
export function useConsoleFixture() {
  const f = usePaymentsFixture({ upstream: true })
  const browser = useBrowser()
  return {
    f,
    browser,
    /** `payer` (payer@example.com) buys Pro; returns the operator's (`boss`) sign-in link. */
    async paidPayerAndAdminLink(): Promise<string> {
      await f.creditedCheckout('payer', { email: 'payer@example.com' })
      const link = await mintSignInLink(f.h.deps, 'boss', { baseUrl: f.base, role: 'admin' })
      return link.url
    },
  }
}
