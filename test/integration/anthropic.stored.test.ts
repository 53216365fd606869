import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AnthropicFixture, startAnthropicFixture } from '../helpers/anthropic-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Anthropic's files and code-execution containers live in the operator's
 * workspace, shared by every user of the key: the gateway binds each container
 * (and file) an answer hands out to its user, and refuses a request naming one
 * its user does not own, or one it never handed out (storedObjects.unseenIds
 * `refuse`), as not found, before anything is reserved or sent.
 */
let f: AnthropicFixture
beforeAll(async () => {
  // Code execution is a hosted tool: the plan is granted it (request-policy.ts).
  f = await startAnthropicFixture({
    plan: { features: ['claude_access', 'code_execution_access'] },
    config: {
      hostedTools: { code_execution: { feature: 'code_execution_access', surchargeTokens: 500 } },
    },
  })
})
afterAll(async () => {
  await f?.close()
})

const CODE_TOOL = [{ type: 'code_execution_20250825', name: 'code_execution' }]

function message(extra: Record<string, unknown>) {
  return {
    model: 'claude-sonnet-4-6',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'Run it.' }],
    ...extra,
  }
}

async function post(user: string, body: unknown) {
  const response = await f.fetch(user, '/v1/messages', { method: 'POST', json: body })
  return { status: response.status, text: await response.text() }
}

describe(`stored objects on the Anthropic surface (${TEST_DIALECT})`, () => {
  it('a file id the gateway never handed out is refused (not_found_error), nothing sent', async () => {
    const before = f.anthropic.requests.length
    const image = {
      type: 'image',
      source: { type: 'file', file_id: 'file_011CNha8iCJcU1wXNR6q4V8w' },
    }
    const result = await post(
      'file-user',
      message({
        messages: [{ role: 'user', content: [image, { type: 'text', text: 'What is it?' }] }],
      }),
    )
    expect(result.status, result.text).toBe(404)
    expect(JSON.parse(result.text).error).toMatchObject({
      type: 'not_found_error',
      message: expect.stringContaining('messages[0].content[0].source.file_id'),
    })
    const upload = { type: 'container_upload', file_id: 'file_other' }
    const uploaded = await post(
      'file-user',
      message({ messages: [{ role: 'user', content: [upload] }] }),
    )
    expect(uploaded.status, uploaded.text).toBe(404)
    expect(f.anthropic.requests.length).toBe(before)
    expect((await f.ledger('file-user')).used.requests).toBe(0)
  })

  it('a container from an answer is its user’s: reused by them, refused to another (JSON answer)', async () => {
    f.anthropic.once({ containerId: 'container_011CZbWYKqB7UQWCdRNLJWHf' })
    const first = await post('owner', message({ tools: CODE_TOOL }))
    expect(first.status, first.text).toBe(200)
    // The hosted tool's surcharge rides on the billed input.
    expect((await f.ledger('owner')).used.tokens_input).toBe(12 + 500)
    const again = await post(
      'owner',
      message({ tools: CODE_TOOL, container: 'container_011CZbWYKqB7UQWCdRNLJWHf' }),
    )
    expect(again.status, again.text).toBe(200)
    const stolen = await post(
      'thief',
      message({ tools: CODE_TOOL, container: 'container_011CZbWYKqB7UQWCdRNLJWHf' }),
    )
    expect(stolen.status, stolen.text).toBe(404)
    expect(JSON.parse(stolen.text).error.type).toBe('not_found_error')
  })

  it('a container named in a stream’s message_delta is bound too', async () => {
    f.anthropic.once({ containerId: 'container_streamed_01' })
    const first = await post('stream-owner', message({ tools: CODE_TOOL, stream: true }))
    expect(first.text).toContain('container_streamed_01')
    const again = await post(
      'stream-owner',
      message({ tools: CODE_TOOL, container: 'container_streamed_01' }),
    )
    expect(again.status, again.text).toBe(200)
    const stolen = await post(
      'stream-thief',
      message({ tools: CODE_TOOL, container: { id: 'container_streamed_01' } }),
    )
    expect(stolen.status, stolen.text).toBe(404)
  })
})
