import { afterAll, beforeAll, expect } from 'vitest'
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

function startCompatFixture(): Promise<ProxyFixture> {
  return startProxyFixture({
    plan: {
      quotas: { requests: 1000, tokens_input: INPUT_QUOTA, tokens_output: 1_000_000 },
      features: ['gpt4_access', 'gpt35_access', 'embeddings_access'],
    },
  })
}

/** The fixture with the ledger checks every compatibility test ends with. */
export interface CompatFixture extends ProxyFixture {
  /** The ledger holds exactly the upstream's usage for `calls` requests, nothing left reserved. */
  expectLedger(userId: string, input: number, output: number, calls?: number): Promise<void>
  /** A refused call changed nothing and reached no upstream. */
  expectNothingBilled(userId: string, upstreamCallsBefore: number): Promise<void>
}

/**
 * Registers beforeAll/afterAll hooks that start one gateway for the file (each
 * test uses its own user) and returns a handle that reads it: use it inside
 * tests and hooks only.
 */
export function useCompatFixture(): CompatFixture {
  let current: ProxyFixture | undefined
  beforeAll(async () => {
    current = await startCompatFixture()
  })
  afterAll(async () => {
    await current?.close()
  })
  const fixture = (): ProxyFixture => {
    if (!current) throw new Error('compat fixture read outside a test')
    return current
  }
  const checks = {
    expectLedger: (userId: string, input: number, output: number, calls?: number) =>
      expectLedger(fixture(), userId, input, output, calls),
    expectNothingBilled: (userId: string, upstreamCallsBefore: number) =>
      expectNothingBilled(fixture(), userId, upstreamCallsBefore),
  }
  return new Proxy(checks as CompatFixture, {
    get(target, key) {
      if (key in target) return target[key as keyof typeof checks]
      return fixture()[key as keyof ProxyFixture]
    },
  })
}

async function expectLedger(
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

async function expectNothingBilled(f: ProxyFixture, userId: string, upstreamCallsBefore: number) {
  await expectLedger(f, userId, 0, 0, 0)
  expect(f.upstream.requests.length).toBe(upstreamCallsBefore)
}
