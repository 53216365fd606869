import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.ts'
import { type ProxyFixture, startProxyFixture, UPSTREAM_KEY } from '../helpers/proxy-fixture.ts'

/** Several upstreams: models go where their patterns say, each with its own key. */
let f: ProxyFixture
let claude: FakeUpstream
const CLAUDE_KEY = 'sk-claude-upstream-key'

beforeAll(async () => {
  claude = await startFakeUpstream({ models: ['claude-3-opus', 'gpt-4o'] })
  f = await startProxyFixture({
    plan: { features: ['gpt4_access', 'claude_access'] },
    config: {
      upstreams: [
        { name: 'default', baseUrl: 'http://127.0.0.1:9/v1' },
        { name: 'anthropic', baseUrl: claude.url, apiKeyEnv: 'CLAUDE_KEY', models: ['claude-*'] },
      ],
    },
    harness: { env: { CLAUDE_KEY } },
  })
})
afterAll(async () => {
  await f?.close()
  await claude?.close()
})

describe('upstream routing', () => {
  it('sends each model to the upstream its patterns name, with that upstream key; the default takes the rest', async () => {
    const client = await f.client('routing-user')
    await client.chat.completions.create({
      model: 'claude-3-opus',
      messages: [{ role: 'user', content: 'hi' }],
    })
    await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    })
    expect(claude.requests.map((r) => [r.path, r.body?.model, r.headers.authorization])).toEqual([
      ['/v1/chat/completions', 'claude-3-opus', `Bearer ${CLAUDE_KEY}`],
    ])
    expect(
      f.upstream.requests.map((r) => [r.path, r.body?.model, r.headers.authorization]),
    ).toEqual([['/v1/chat/completions', 'gpt-4o', `Bearer ${UPSTREAM_KEY}`]])
  })

  it('lists each upstream model once, from the upstream that serves it', async () => {
    f.upstream.setModels(['gpt-4o', 'claude-3-opus', 'o3-mini'])
    const response = await f.fetch('routing-user', '/v1/models')
    const body = (await response.json()) as { data: Array<{ id: string; owned_by: string }> }
    expect(response.status, JSON.stringify(body)).toBe(200)
    expect(body.data.map((m) => m.id).sort()).toEqual(['claude-3-opus', 'gpt-4o', 'o3-mini'])
  })
})
