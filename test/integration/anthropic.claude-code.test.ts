import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AnthropicFixture, startAnthropicFixture } from '../helpers/anthropic-fixture.ts'
import { CLAUDE_CODE_SESSION } from '../helpers/claude-code-session.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * A recorded Claude Code session through the gateway (claude-code-session.ts):
 * the small model's title, then the main model's streamed turns with tools,
 * thinking, betas and cache_control. Each body reaches the upstream byte for
 * byte with its anthropic-beta and anthropic-version, each answer reaches the
 * client whole, and the ledger holds exactly what the upstream reported,
 * cache writes and reads included, nothing estimated.
 */
let f: AnthropicFixture
beforeAll(async () => {
  f = await startAnthropicFixture()
})
afterAll(async () => {
  await f?.close()
})

describe(`a Claude Code session (${TEST_DIALECT})`, () => {
  it('is forwarded untouched and billed exactly, cache tokens included', async () => {
    const token = await f.token('claude-code-user')
    for (const call of CLAUDE_CODE_SESSION) {
      f.anthropic.once(call.answer)
      // ANTHROPIC_AUTH_TOKEN: the gateway key as a bearer token.
      const response = await fetch(`${f.base}${call.path}`, {
        method: 'POST',
        headers: { ...call.headers, authorization: `Bearer ${token}` },
        body: call.body,
      })
      const text = await response.text()
      expect(response.status, text).toBe(200)
      if (call.stream) {
        expect(response.headers.get('content-type')).toContain('text/event-stream')
        expect(text).toContain('event: message_stop')
        expect(text).toContain('event: ping')
      } else {
        expect(JSON.parse(text).content[0].text).toContain('title')
      }
      const sent = f.anthropic.requests.at(-1)!
      expect(sent.path).toBe(call.path)
      expect(sent.rawBody === call.body, 'the body went byte for byte').toBe(true)
      expect(sent.headers['anthropic-beta']).toBe(call.headers['anthropic-beta'])
      expect(sent.headers['anthropic-version']).toBe('2023-06-01')
      expect(sent.headers['x-claude-code-session-id']).toBeUndefined()
      expect(sent.headers.authorization).toBeUndefined()
    }
    expect(CLAUDE_CODE_SESSION[1]!.body).toContain(
      '"cache_control":{"type":"ephemeral","ttl":"1h"}',
    )

    const ledger = await f.ledger('claude-code-user')
    const input = CLAUDE_CODE_SESSION.reduce((sum, call) => sum + call.billed.input, 0)
    const output = CLAUDE_CODE_SESSION.reduce((sum, call) => sum + call.billed.output, 0)
    expect(ledger.used, JSON.stringify(ledger)).toEqual({
      requests: 3,
      tokens_input: input,
      tokens_output: output,
    })
    expect(input).toBe(187 + 14_879 + 15_013)
    expect(ledger.usage.every((row) => row.estimated === 0)).toBe(true)
    expect(ledger.reserved).toEqual({ requests: 0, tokens_input: 0, tokens_output: 0 })
    expect(
      ledger.usage
        .filter((row) => row.metric === 'tokens_input')
        .map((row) => [row.model_id, row.amount]),
    ).toEqual([
      ['claude-haiku-4-5-20251001', 187],
      ['claude-sonnet-4-6', 14_879],
      ['claude-sonnet-4-6', 15_013],
    ])
  })
})
