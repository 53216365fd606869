import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

/** The bill comes from the answer's own top-level usage, never an echoed one. */
let f: ProxyFixture
beforeAll(async () => {
  f = await startProxyFixture()
})
afterAll(async () => {
  await f?.close()
})

const echo = {
  echo: { usage: { prompt_tokens: 1, completion_tokens: 1, input_tokens: 1, output_tokens: 1 } },
}

describe('usage of a JSON answer', () => {
  it.each([
    ['/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/responses', { model: 'gpt-4o', input: 'hi' }],
  ])(
    '%s: an object named usage echoed after the real usage does not decide the bill',
    async (path, body) => {
      const userId = `echo-${path.split('/').at(-1)}`
      f.upstream.once({ usage: { input: 5_000, output: 70 }, trailingFields: echo })
      const response = await f.fetch(userId, path, { method: 'POST', json: body })
      const text = await response.text()
      expect(response.status, text).toBe(200)
      expect(text.indexOf('"echo"'), 'the echo comes after the real usage').toBeGreaterThan(
        text.indexOf('"usage"'),
      )
      const ledger = await f.settled(userId)
      expect(ledger.used).toEqual({ requests: 1, tokens_input: 5_000, tokens_output: 70 })
      expect(ledger.usage.every((u) => u.estimated === 0)).toBe(true)
    },
  )
})
