import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createProcessDatabase,
  type ProcessDatabase,
  type RunningGateway,
  startProcess,
} from '../helpers/spawn-gateway.ts'

/**
 * `npm run demo` as a newcomer meets it: the real demo entry as a child
 * process, read from what it prints, then driven over HTTP only (the openai
 * SDK, the billing API, the sandbox's checkout form), as a person would.
 */
interface Banner {
  gatewayUrl: string
  sandboxUrl: string
  userKey: string
  adminKey: string
}

type Me = {
  plan: { id: string }
  usage: Record<string, { used: number; limit: number | null; remaining: number | null }>
}

async function waitForBanner(demo: RunningGateway, timeoutMs = 90_000): Promise<Banner> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const text = demo.output()
    const field = (label: string) =>
      new RegExp(`^  ${label.replace(/[()]/g, '\\$&')}\\s+(\\S+)$`, 'm').exec(text)?.[1]
    const banner = {
      gatewayUrl: field('Gateway'),
      sandboxUrl: field('YooKassa sandbox'),
      userKey: field('API key (demo user)'),
      adminKey: field('API key (admin)'),
    }
    if (Object.values(banner).every(Boolean)) return banner as Banner
    if (demo.child.exitCode !== null) throw new Error(`demo exited:\n${text}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`no banner within ${timeoutMs} ms:\n${demo.output()}`)
}

describe(`npm run demo (${process.env.TEST_DATABASE ?? 'sqlite'})`, () => {
  let database: ProcessDatabase
  let demo: RunningGateway
  let banner: Banner
  let client: OpenAI

  beforeAll(async () => {
    database = await createProcessDatabase()
    // PORT=0: the demo picks free ports for the gateway, the upstream and the sandbox.
    demo = startProcess('src/demo/main.ts', [], { PORT: '0', DEMO_DATABASE_URL: database.url })
    banner = await waitForBanner(demo)
    client = new OpenAI({
      baseURL: `${banner.gatewayUrl}/v1`,
      apiKey: banner.userKey,
      maxRetries: 0,
    })
  }, 120_000)
  afterAll(async () => {
    await demo?.stop('SIGTERM')
    await database?.drop()
  })

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${banner.gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${banner.userKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    return { status: response.status, text, json: text ? JSON.parse(text) : null }
  }
  /** The child's stdout reaches this process on its own schedule, after any HTTP answer. */
  async function expectLogLine(pattern: RegExp) {
    for (let i = 0; i < 50 && !pattern.test(demo.output()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(demo.output()).toMatch(pattern)
  }
  const me = async () => (await api('GET', '/api/v1/billing/me')).json as Me
  const hello = (content = 'Hello!') =>
    client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content }],
      max_tokens: 64,
    })

  /** Starts a Pro checkout through the API and presses a button of the sandbox's page. */
  async function checkout(button: 'Pay' | 'Decline') {
    const returnUrl = `${banner.gatewayUrl}/billing/return`
    const created = await api('POST', '/api/v1/billing/payment', {
      plan_id: 'pro',
      return_url: returnUrl,
    })
    expect(created.status, created.text).toBe(201)
    const url = String(created.json.confirmation_url)
    expect(url.startsWith(`${banner.sandboxUrl}/checkout/`), created.text).toBe(true)
    const page = await (await fetch(url)).text()
    const forms = [...page.matchAll(/<form method="post" action="([^"]+)">.*?>(Pay|Decline)</gs)]
    const action = forms.find((form) => form[2] === button)?.[1]
    expect(action, page).toBeTruthy()
    const pressed = await fetch(`${banner.sandboxUrl}${action}`, {
      method: 'POST',
      redirect: 'manual',
    })
    expect(pressed.status, await pressed.clone().text()).toBe(303)
    // YooKassa sends the payer back to the return_url the gateway gave.
    expect(pressed.headers.get('location')).toBe(returnUrl)
    return created.json as { payment_id: string; transaction_id: string }
  }

  it('prints a ready gateway: chat (JSON and stream) through the openai SDK, usage counted', async () => {
    const answer = await hello()
    expect(answer.choices[0]?.message.content, JSON.stringify(answer)).toMatch(/\w+/)
    const usage = answer.usage!
    expect(usage.prompt_tokens).toBeGreaterThan(5)
    expect(usage.completion_tokens).toBeGreaterThan(5)

    let text = ''
    let streamed: OpenAI.CompletionUsage | undefined
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'How should I pick a database?' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      if (chunk.usage) streamed = chunk.usage
    }
    expect(text).toContain('How should I pick a database?')
    expect(streamed?.completion_tokens, text).toBeGreaterThan(5)

    const after = await me()
    expect(after.plan.id).toBe('free')
    expect(after.usage.requests).toMatchObject({ used: 2, limit: 20 })
    expect(after.usage.tokens_input?.used).toBe(usage.prompt_tokens + streamed!.prompt_tokens)
    expect(after.usage.tokens_output?.used).toBe(
      usage.completion_tokens + streamed!.completion_tokens,
    )
  })

  it('refuses the 21st request of the Free plan with 429 insufficient_quota', async () => {
    for (let i = (await me()).usage.requests!.used; i < 20; i++) await hello(`question ${i}`)
    const refused = await hello().then(
      () => null,
      (error: unknown) => error,
    )
    expect(refused).toBeInstanceOf(OpenAI.APIError)
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(429)
    // The type is OpenAI's; the code is the gateway's own (docs/reference/API.md wants insufficient_quota there too).
    expect((refused as InstanceType<typeof OpenAI.APIError>).type).toBe('insufficient_quota')
  }, 60_000)

  it('"Decline" on the sandbox page cancels the payment and leaves the plan and the 429', async () => {
    const { transaction_id } = await checkout('Decline')
    const transactions = await api('GET', '/api/v1/billing/transactions')
    const row = transactions.json.data.find((t: { id: string }) => t.id === transaction_id)
    expect(row?.status, transactions.text).toBe('canceled')
    expect((await me()).plan.id).toBe('free')
    await expect(hello()).rejects.toMatchObject({ status: 429 })
    await expectLogLine(/webhook payment\.canceled applied: canceled/)
  })

  it('"Pay" sends payment.succeeded through the verified webhook: Pro, and the next request is 200', async () => {
    const { transaction_id } = await checkout('Pay')
    // The sandbox delivered the notification before sending the payer back.
    const after = await me()
    expect(after.plan.id, JSON.stringify(after)).toBe('pro')
    expect(after.usage.requests?.limit).toBe(10_000)
    const transactions = await api('GET', '/api/v1/billing/transactions')
    const row = transactions.json.data.find((t: { id: string }) => t.id === transaction_id)
    expect(row?.status, transactions.text).toBe('succeeded')
    await expectLogLine(/webhook payment\.succeeded applied: credited/)

    const answer = await hello()
    expect(answer.choices[0]?.message.content).toBeTruthy()
    expect((await me()).usage.requests?.used).toBe(1)
  })

  it('answers embeddings and the Responses API with counted tokens', async () => {
    const embedded = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['first text', 'second text'],
    })
    expect(embedded.data.map((d) => d.embedding.length)).toEqual([1536, 1536])
    expect(embedded.usage.prompt_tokens).toBe(4)

    const response = await client.responses.create({ model: 'gpt-4o-mini', input: 'Hi there' })
    expect(response.output_text).toMatch(/\w+/)
    expect(response.usage?.output_tokens).toBeGreaterThan(5)
  })
})
