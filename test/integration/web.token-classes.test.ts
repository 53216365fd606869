import { describe, expect, it } from 'vitest'
import { usePaymentsFixture } from '../helpers/payments-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { signInWeb, textOf } from '../helpers/web-session.ts'

/**
 * The billing page shows the period's token classes under its meters, as /me's token_classes
 * (docs/metering.md): only the classes the upstream reported, in English and Russian.
 */
describe(`the billing page's token classes (${TEST_DIALECT})`, () => {
  const f = usePaymentsFixture({ upstream: true })

  it('shows "of which" with the non-zero classes only, in both languages; nothing without classes', async () => {
    f.upstream!.behave({
      rawUsage: {
        prompt_tokens: 2000,
        completion_tokens: 100,
        prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 64, audio_tokens: 0 },
      },
    })
    await f.chat('cached', 1, { email: 'cached@example.com' })
    const web = await signInWeb(f.h, f.base, 'cached', { email: 'cached@example.com' })
    const page = await web.page('/billing')
    expect(textOf(page)).toContain('of which: cached 1,024 · reasoning 64')
    // The classes are those of /me.
    const me = await f.h.json(
      'GET',
      '/api/v1/billing/me',
      undefined,
      await f.h.token({ sub: 'cached' }),
    )
    expect(((await me.json()) as { token_classes: unknown }).token_classes).toMatchObject({
      cached_input: 1024,
      reasoning: 64,
      cache_write: 0,
    })
    const ru = await signInWeb(f.h, f.base, 'cached', { lang: 'ru' })
    expect(textOf(await ru.page('/billing'))).toContain(
      'в том числе: из кеша 1 024 · рассуждения 64',
    )

    f.upstream!.behave({ usage: { input: 12, output: 9 } })
    await f.chat('plain', 1, { email: 'plain@example.com' })
    const plain = await signInWeb(f.h, f.base, 'plain', { email: 'plain@example.com' })
    const plainPage = await plain.page('/billing')
    expect(textOf(plainPage)).toContain('12 of 100,000 used')
    expect(plainPage).not.toContain('data-token-classes')
  })
})
