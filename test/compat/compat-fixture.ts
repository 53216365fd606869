import { expect } from 'vitest'
import { type ProxyFixture, startProxyFixture } from '../helpers/proxy-fixture.ts'

/**
 * The setting every client compatibility test shares: the real gateway on a
 * socket in front of the fake upstream, every user on a plan whose
 * tokens_input quota (5,000) a long prompt exceeds, so any client gets the
 * gateway's real 429 with one call, and whose features leave out Claude, so
 * `claude-*` is the gateway's real 403. Each test uses its own user, so its
 * ledger holds exactly that test's calls.
 */
export const INPUT_QUOTA = 5_000
/** A prompt the tokenizer counts above INPUT_QUOTA: refused before anything goes upstream. */
export const OVERSIZED_PROMPT = 'lorem ipsum dolor '.repeat(INPUT_QUOTA)
export const FORBIDDEN_MODEL = 'claude-3-5-haiku'
export const WEATHER_ARGS = '{"city":"Paris","unit":"celsius"}'

export function startCompatFixture(): Promise<ProxyFixture> {
  return startProxyFixture({
    plan: {
      quotas: { requests: 1000, tokens_input: INPUT_QUOTA, tokens_output: 1_000_000 },
      features: ['gpt4_access', 'gpt35_access', 'embeddings_access'],
    },
  })
}

/** The ledger holds exactly the upstream's usage for `calls` requests, nothing left reserved. */
export async function expectLedger(
  f: ProxyFixture,
  userId: string,
  input: number,
  output: number,
  calls = 1,
) {
  const ledger = await f.settled(userId)
  expect(ledger.used, JSON.stringify(ledger)).toEqual({
    requests: calls,
    tokens_input: input,
    tokens_output: output,
  })
  expect(ledger.reservations, JSON.stringify(ledger)).toBe(0)
}

/** A refused call changed nothing and reached no upstream. */
export async function expectNothingBilled(
  f: ProxyFixture,
  userId: string,
  upstreamCallsBefore: number,
) {
  await expectLedger(f, userId, 0, 0, 0)
  expect(f.upstream.requests.length).toBe(upstreamCallsBefore)
}
