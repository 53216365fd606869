import { expect } from 'vitest'
import { audit } from '../reliability/audit.ts'
import type { PaymentsFixture } from './payments-fixture.ts'

/** A gate a fake upstream's stream waits on: `open` lets it go on. */
export function gate() {
  let open: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { opened, open }
}

/**
 * What the pack tests do over HTTP against the payments fixture `f`: a chat call,
 * buying pack `packId` through the real checkout and webhook, the user's /me, the audit.
 */
export function packCalls(f: PaymentsFixture, packId: string) {
  async function send(user: string, stream = false) {
    return fetch(`${f.base}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await f.h.token({ sub: user })}`,
      },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 5,
        stream,
      }),
    })
  }

  async function chat(user: string) {
    const res = await send(user)
    const text = await res.text()
    await f.h.deps.pendingSettles.idle(5_000)
    return { status: res.status, text }
  }

  async function buyPack(user: string) {
    const token = await f.h.token({ sub: user })
    const res = await f.h.json(
      'POST',
      '/api/v1/billing/payment',
      { pack_id: packId, return_url: 'https://app.example/r' },
      token,
    )
    const body = (await res.json()) as Record<string, string>
    expect(res.status, JSON.stringify(body)).toBe(201)
    f.fake.pay(body.payment_id!)
    const note = await f.deliver('payment.succeeded', body.payment_id!)
    expect(note.status, note.body).toBe(200)
  }

  async function me(user: string) {
    const res = await f.h.request('/api/v1/billing/me', {
      headers: f.h.auth(await f.h.token({ sub: user })),
    })
    const body = (await res.json()) as {
      usage: Record<string, { used: number }>
      packs: { balance: Record<string, number> }
    }
    expect(res.status, JSON.stringify(body)).toBe(200)
    return body
  }

  async function auditHolds() {
    await f.h.deps.pendingSettles.idle(5_000)
    const report = await audit(f.h.db)
    expect(report.violations).toEqual([])
  }

  return { send, chat, buyPack, me, auditHolds }
}
