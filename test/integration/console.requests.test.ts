import { afterEach, describe, expect, it } from 'vitest'
import { rollUpAndPrune } from '../../src/ledger/usage-retention.job.ts'
import { REFUSALS_RECORDED_PER_MINUTE } from '../../src/pipeline/admission/refusal-cap.ts'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'
import { signInWeb } from '../helpers/web-session.ts'

/**
 * The console's "Last requests" of a user, over HTTP on both databases: a
 * settled request with its status and latency, a refused one with its reason,
 * newest first; and a flood of refusals leaves at most the per-minute cap of
 * rows (the rest only counted).
 */
describe('console: the last requests, settled and refused', () => {
  let f: ProxyFixture | undefined
  afterEach(async () => {
    await f?.close()
    f = undefined
  })

  const chat = (fixture: ProxyFixture, user: string, model: string, stream = false) =>
    fixture.fetch(user, '/v1/chat/completions', {
      method: 'POST',
      json: { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 50, stream },
    })

  /** The rows of the user page's requests table, as [outcome, text of the row]. */
  async function requestRows(fixture: ProxyFixture, user: string) {
    // Refusal rows and settles are written after their answers.
    await fixture.h.deps.pendingSettles.idle(5_000)
    const admin = await signInWeb(fixture.h, fixture.base, 'boss', { role: 'admin' })
    const html = await admin.page(`/admin/users/${user}`)
    const section = /<section aria-labelledby="requests-h">[\s\S]*?<\/section>/.exec(html)?.[0]
    expect(section, 'the requests section').toBeTruthy()
    return [...section!.matchAll(/<tr[^>]*data-outcome="(\w+)"[^>]*>([\s\S]*?)<\/tr>/g)].map(
      (m) =>
        [
          m[1]!,
          m[2]!
            .replace(/<[^>]+>/g, ' ')
            .replace(/\s+/g, ' ')
            .trim(),
        ] as const,
    )
  }

  it('lists a settled request with its status and latency and refusals with their code and message, newest first', async () => {
    f = await startProxyFixture({
      plan: {
        quotas: { requests: 2, tokens_input: 1_000_000, tokens_output: 1_000_000 },
        features: ['gpt35_access'],
      },
    })
    f.upstream.behave({ latencyMs: 150, usage: { input: 12, output: 7 } })
    const ok = await chat(f, 'alice', 'gpt-3.5-turbo')
    expect(ok.status, await ok.text()).toBe(200)
    f.h.clock.advance(1_000)
    const streamed = await chat(f, 'alice', 'gpt-3.5-turbo', true)
    expect(streamed.status).toBe(200)
    await streamed.text()
    f.h.clock.advance(1_000)
    const notAllowed = await chat(f, 'alice', 'gpt-4o')
    expect(notAllowed.status, await notAllowed.text()).toBe(403)
    f.h.clock.advance(1_000)
    const overQuota = await chat(f, 'alice', 'gpt-3.5-turbo')
    const overQuotaBody = await overQuota.text()
    expect(overQuota.status, overQuotaBody).toBe(429)

    const rows = await requestRows(f, 'alice')
    expect(rows.map(([outcome]) => outcome)).toEqual(['refused', 'refused', 'settled', 'settled'])
    const [quota, model, stream, json] = rows.map(([, text]) => text)
    expect(quota).toContain('gpt-3.5-turbo')
    expect(quota).toContain('429')
    expect(quota).toContain(
      `refused: insufficient_quota : ${JSON.parse(overQuotaBody).error.message}`,
    )
    expect(model).toContain('gpt-4o')
    expect(model).toContain('403')
    expect(model).toContain('refused: model_not_allowed')
    for (const settled of [stream, json]) {
      expect(settled).toContain('200')
      expect(settled).not.toContain('refused')
    }
    // The fake upstream waits 150 ms before its headers: the latency covers it.
    const usage = await f.h.db
      .selectFrom('billing_usage')
      .select(['status', 'latency_ms'])
      .where('user_id', '=', 'alice')
      .orderBy('created_at', 'desc')
      .execute()
    expect(usage).toHaveLength(2)
    for (const [i, row] of usage.entries()) {
      expect(Number(row.status)).toBe(200)
      expect(Number(row.latency_ms)).toBeGreaterThanOrEqual(150)
      expect(Number(row.latency_ms)).toBeLessThan(10_000)
      const shown = Number(row.latency_ms).toLocaleString('en-US')
      expect([stream, json][i]).toContain(`200 ${shown} ms`)
    }
  })

  it('a flood of refusals records at most the per-minute cap per user; the next minute records again', async () => {
    f = await startProxyFixture({ plan: { features: ['gpt35_access'] } })
    const flood = REFUSALS_RECORDED_PER_MINUTE * 3
    // From the minute's start, so the flood stays within one minute of the test clock.
    f.h.clock.set(Math.ceil(f.h.clock.now() / 60_000) * 60_000)
    for (let i = 0; i < flood; i++) {
      const res = await chat(f, 'mallory', 'gpt-4o')
      expect(res.status).toBe(403)
    }
    await f.h.deps.pendingSettles.idle(5_000)
    const count = async () =>
      Number(
        (
          await f!.h.db
            .selectFrom('request_refusal')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('user_id', '=', 'mallory')
            .executeTakeFirstOrThrow()
        ).n,
      )
    expect(await count()).toBe(REFUSALS_RECORDED_PER_MINUTE)
    const metrics = await f.h.deps.metrics.registry.metrics()
    expect(metrics).toContain(
      `gateway_request_refusals_unrecorded_total ${flood - REFUSALS_RECORDED_PER_MINUTE}`,
    )
    // Another user is not held by mallory's cap.
    expect((await chat(f, 'bob', 'gpt-4o')).status).toBe(403)
    f.h.clock.advance(60_000)
    expect((await chat(f, 'mallory', 'gpt-4o')).status).toBe(403)
    await f.h.deps.pendingSettles.idle(5_000)
    expect(await count()).toBe(REFUSALS_RECORDED_PER_MINUTE + 1)
    expect(await f.h.db.selectFrom('request_refusal').select('id').execute()).toHaveLength(
      REFUSALS_RECORDED_PER_MINUTE + 2,
    )
  })
  it('refusal rows past usage.retentionDays are pruned with the usage rows, newer ones kept', async () => {
    f = await startProxyFixture({
      plan: { features: ['gpt35_access'] },
      config: { usage: { retentionDays: 2 } },
    })
    expect((await chat(f, 'old', 'gpt-4o')).status).toBe(403)
    f.h.clock.advance(3 * 86_400_000)
    expect((await chat(f, 'recent', 'gpt-4o')).status).toBe(403)
    await f.h.deps.pendingSettles.idle(5_000)
    const run = await rollUpAndPrune(f.h.deps, Math.floor(f.h.clock.now() / 1000))
    expect(run.refusalsPruned).toBe(1)
    const left = await f.h.db.selectFrom('request_refusal').select('user_id').execute()
    expect(left.map((r) => r.user_id)).toEqual(['recent'])
  })
})
