import { afterEach, describe, expect, it } from 'vitest'
import type { ErrorBody } from '../../src/http/errors.ts'
import { pruneStoredObjects } from '../../src/pipeline/stored/prune-stored-objects.job.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/**
 * Stored objects belong to their user (docs/security.md): the upstream keeps
 * responses, items and audio in the operator's one account, so an id one
 * user got must not let another continue from it. Over HTTP through the
 * proxy with the fake upstream, which records what reached it.
 */
let f: ProxyFixture | undefined
afterEach(async () => {
  await f?.close()
  f = undefined
})

const nothing = { requests: 0, tokens_input: 0, tokens_output: 0 }
const MODEL = 'gpt-4o-mini'

async function post(userId: string, path: string, json: object) {
  const response = await f!.fetch(userId, path, { method: 'POST', json })
  const text = await response.text()
  return { status: response.status, text }
}
const responses = (userId: string, json: object) =>
  post(userId, '/v1/responses', { model: MODEL, ...json })
const chat = (userId: string, json: object) =>
  post(userId, '/v1/chat/completions', { model: MODEL, ...json })

/** Refused as if the id did not exist, nothing forwarded, nothing reserved or billed. */
async function expectRefusedUnseen(
  attempt: Promise<{ status: number; text: string }>,
  userId: string,
  param: string,
) {
  const before = f!.upstream.requests.length
  const { used } = await f!.ledger(userId)
  const { status, text } = await attempt
  expect(status, text).toBe(404)
  const body = JSON.parse(text) as ErrorBody
  expect(body.error).toMatchObject({ type: 'not_found_error', code: 'not_found', param })
  expect(f!.upstream.requests.length, 'forwarded upstream').toBe(before)
  const ledger = await f!.ledger(userId)
  expect(ledger.used).toEqual(used)
  expect(ledger.reserved).toEqual(nothing)
  expect(ledger.reservations).toBe(0)
}

/** Reads a streamed answer to its end, as a client does before it sends the next turn. */
async function stream(userId: string, path: string, json: object): Promise<string> {
  const response = await f!.fetch(userId, path, {
    method: 'POST',
    json: { model: MODEL, stream: true, ...json },
  })
  expect(response.status).toBe(200)
  return response.text()
}

describe(`stored objects belong to their user (${TEST_DIALECT})`, () => {
  it("refuses another user's previous_response_id (404, nothing reserved or forwarded); its owner continues", async () => {
    f = await startProxyFixture()
    const first = await responses('alice', { input: 'hello' })
    expect(first.status).toBe(200)
    const id = (JSON.parse(first.text) as { id: string }).id
    expect(id).toBe('resp_fake')

    await expectRefusedUnseen(
      responses('mallory', { input: 'go on', previous_response_id: id }),
      'mallory',
      'previous_response_id',
    )
    const own = await responses('alice', { input: 'go on', previous_response_id: id })
    expect(own.status, own.text).toBe(200)
    expect(f.upstream.requests.at(-1)!.body!.previous_response_id).toBe(id)
  })

  it("refuses another user's items, by item_reference or passed back with their id; the owner's pass right after a streamed answer", async () => {
    f = await startProxyFixture()
    // The stream names resp_fake (response.created) and msg_fake (response.output_item.added).
    await stream('alice', '/v1/responses', { input: 'hello' })
    // At once, with no pause: the bindings are written while the stream passes.
    const own = await responses('alice', {
      previous_response_id: 'resp_fake',
      input: [
        { type: 'item_reference', id: 'msg_fake' },
        { type: 'message', id: 'msg_fake', role: 'assistant', content: 'Hello' },
        { role: 'user', content: 'and then?' },
      ],
    })
    expect(own.status, own.text).toBe(200)

    await expectRefusedUnseen(
      responses('mallory', { input: [{ type: 'item_reference', id: 'msg_fake' }] }),
      'mallory',
      'input[0].id',
    )
    await expectRefusedUnseen(
      responses('mallory', {
        input: [
          { role: 'user', content: 'hi' },
          { type: 'message', id: 'msg_fake', role: 'assistant', content: 'x' },
        ],
      }),
      'mallory',
      'input[1].id',
    )
    await expectRefusedUnseen(
      responses('mallory', { previous_response_id: 'resp_fake', input: 'hi', stream: true }),
      'mallory',
      'previous_response_id',
    )
  })

  it('lets the owner name a streamed response at once, ten times in a row (the binding is never behind the answer)', async () => {
    f = await startProxyFixture()
    for (let round = 0; round < 10; round++) {
      const id = `resp_round_${round}`
      // One content event: the stream ends right after the event that names the id.
      f.upstream.once({ responseId: id, chunks: 1 })
      await stream('alice', '/v1/responses', { input: 'hello' })
      const next = await responses('alice', { input: 'go on', previous_response_id: id })
      expect(next.status, `round ${round}: ${next.text}`).toBe(200)
    }
  })

  it('refuses conversations and files the gateway never handed out, unless storedObjects.unseenIds is forward', async () => {
    f = await startProxyFixture()
    await expectRefusedUnseen(
      responses('mallory', { input: 'hi', conversation: 'conv_operator' }),
      'mallory',
      'conversation',
    )
    await expectRefusedUnseen(
      responses('mallory', { input: 'hi', conversation: { id: 'conv_operator' } }),
      'mallory',
      'conversation.id',
    )
    await expectRefusedUnseen(
      responses('mallory', {
        input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-operator' }] }],
      }),
      'mallory',
      'input[0].content[0].file_id',
    )
    await expectRefusedUnseen(
      chat('mallory', {
        messages: [
          { role: 'user', content: [{ type: 'file', file: { file_id: 'file-operator' } }] },
        ],
      }),
      'mallory',
      'messages[0].content[0].file.file_id',
    )
    await f.close()

    f = await startProxyFixture({ config: { storedObjects: { unseenIds: 'forward' } } })
    // The fake names every answer resp_fake: bob's gets an id of its own.
    f.upstream.once({ trailingFields: { id: 'resp_bob', output: [] } })
    expect((await responses('bob', { input: 'hi', conversation: 'conv_operator' })).status).toBe(
      200,
    )
    // Another user's id stays refused whatever unseenIds says.
    expect((await responses('alice', { input: 'hi' })).status).toBe(200)
    await expectRefusedUnseen(
      responses('bob', { input: 'hi', previous_response_id: 'resp_fake' }),
      'bob',
      'previous_response_id',
    )
  })

  it("refuses another user's chat audio id (JSON and streamed answers); the owner's passes", async () => {
    f = await startProxyFixture()
    f.upstream.once({ audioId: 'audio_json' })
    const first = await chat('alice', {
      modalities: ['text', 'audio'],
      audio: { voice: 'alloy', format: 'wav' },
      messages: [{ role: 'user', content: 'say hi' }],
    })
    expect(first.status).toBe(200)
    f.upstream.once({ audioId: 'audio_stream' })
    await stream('alice', '/v1/chat/completions', {
      modalities: ['text', 'audio'],
      audio: { voice: 'alloy', format: 'pcm16' },
      messages: [{ role: 'user', content: 'say hi' }],
    })
    for (const id of ['audio_json', 'audio_stream']) {
      const turn = {
        messages: [
          { role: 'user', content: 'say hi' },
          { role: 'assistant', audio: { id } },
          { role: 'user', content: 'again' },
        ],
      }
      await expectRefusedUnseen(chat('mallory', turn), 'mallory', 'messages[1].audio.id')
      const own = await chat('alice', turn)
      expect(own.status, own.text).toBe(200)
    }
  })

  it('binds only the ids of the answer itself, never one echoed in its metadata', async () => {
    f = await startProxyFixture()
    // An upstream echoes the request's metadata; mallory writes an id she does not own there.
    f.upstream.once({ trailingFields: { id: 'resp_mallory', metadata: { id: 'resp_operator' } } })
    const echoed = await responses('mallory', { input: 'hi', metadata: { id: 'resp_operator' } })
    expect(echoed.status).toBe(200)
    await expectRefusedUnseen(
      responses('mallory', { input: 'hi', previous_response_id: 'resp_operator' }),
      'mallory',
      'previous_response_id',
    )
  })

  it("reserves quota.unknownContextTokens for the owner's item_reference and audio id (400 when the plan can never hold it)", async () => {
    f = await startProxyFixture({
      plan: { quotas: { requests: 100, tokens_input: 20_000, tokens_output: 100_000 } },
    })
    f.upstream.once({ audioId: 'audio_own' })
    expect((await chat('alice', { messages: [{ role: 'user', content: 'say hi' }] })).status).toBe(
      200,
    )
    expect((await responses('alice', { input: 'hello' })).status).toBe(200)
    const before = f.upstream.requests.length
    for (const [attempt, param] of [
      [
        responses('alice', { input: [{ type: 'item_reference', id: 'msg_fake' }] }),
        'item_reference',
      ],
      [
        chat('alice', { messages: [{ role: 'assistant', audio: { id: 'audio_own' } }] }),
        'audio.id',
      ],
    ] as const) {
      const { status, text } = await attempt
      expect(status, text).toBe(400)
      expect((JSON.parse(text) as ErrorBody).error.param).toBe(param)
    }
    expect(f.upstream.requests.length).toBe(before)
  })

  it('refuses a referencing field of the wrong type (400) before anything is reserved', async () => {
    f = await startProxyFixture()
    const before = f.upstream.requests.length
    for (const [body, param] of [
      [{ input: 'hi', previous_response_id: 42 }, 'previous_response_id'],
      [{ input: 'hi', conversation: { id: ['x'] } }, 'conversation'],
      [{ input: [{ type: 'item_reference' }] }, 'input[0].id'],
    ] as const) {
      const { status, text } = await responses('mallory', body)
      expect(status, text).toBe(400)
      expect((JSON.parse(text) as ErrorBody).error.param).toBe(param)
    }
    expect(f.upstream.requests.length).toBe(before)
    expect((await f.ledger('mallory')).used).toEqual(nothing)
  })

  it('storedObjects.store off: Responses go with store: false, store: true is refused', async () => {
    f = await startProxyFixture({ config: { storedObjects: { store: 'off' } } })
    expect((await responses('alice', { input: 'hi' })).status).toBe(200)
    expect(f.upstream.requests.at(-1)!.body!.store).toBe(false)
    await stream('alice', '/v1/responses', { input: 'hi', stream_options: undefined })
    expect(f.upstream.requests.at(-1)!.body!.store).toBe(false)
    const before = f.upstream.requests.length
    const refused = await responses('alice', { input: 'hi', store: true })
    expect(refused.status, refused.text).toBe(400)
    expect((JSON.parse(refused.text) as ErrorBody).error.param).toBe('store')
    const chatRefused = await chat('alice', {
      store: true,
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(chatRefused.status).toBe(400)
    expect(f.upstream.requests.length).toBe(before)
  })

  it('storedObjects.store forward (the default) leaves the body as sent', async () => {
    f = await startProxyFixture()
    await responses('alice', { input: 'hi' })
    expect(f.upstream.requests.at(-1)!.body!).not.toHaveProperty('store')
  })

  it('prunes bindings past storedObjects.retentionDays; a pruned id is refused as unseen', async () => {
    f = await startProxyFixture()
    expect((await responses('alice', { input: 'hi' })).status).toBe(200)
    await f.h.deps.pendingSettles.idle(5_000)
    expect(await pruneStoredObjects(f.h.deps)).toBe(0)
    const now = f.h.clock.now()
    f.h.clock.advance(31 * 86_400_000)
    expect(await pruneStoredObjects(f.h.deps)).toBe(2)
    f.h.clock.set(now) // the user's token would have expired meanwhile
    await expectRefusedUnseen(
      responses('alice', { input: 'hi', previous_response_id: 'resp_fake' }),
      'alice',
      'previous_response_id',
    )
  })
})
