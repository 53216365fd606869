import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.ts'
import { type KeyHealth, newKeyHealth } from '../../src/pipeline/upstream/key-health.ts'
import { pickNext, soonestRecovery } from '../../src/pipeline/upstream/pick.ts'
import type { Candidate, Deployment, Route } from '../../src/pipeline/upstream/routes.ts'
import { retryAfter } from '../../src/pipeline/upstream/verdict.ts'

/** The router's choice: priority first, then weight among the keys that do not rest. */
function candidate(name: string, priority: number, weight: number, health = newKeyHealth()) {
  const deployment = { upstream: { name }, model: null, priority, weight } as unknown as Deployment
  return { deployment, key: { label: name, health } } as unknown as Candidate
}
const resting = (until: number, reason: KeyHealth['reason'] = 'failing'): KeyHealth => ({
  ...newKeyHealth(),
  restUntil: until,
  reason,
})
/** A deterministic random source spread evenly over [0, 1). */
const evenly = (n: number) => {
  let i = 0
  return () => (i++ % n) / n + 0.5 / n
}

describe('pickNext', () => {
  it('spreads one priority by weight (3:1) and never picks a higher priority while one is open', () => {
    const a = candidate('a', 0, 3)
    const b = candidate('b', 0, 1)
    const backup = candidate('backup', 1, 100)
    const route: Route = { candidates: [a, b, backup] }
    const random = evenly(400)
    const counts = new Map<string, number>()
    for (let i = 0; i < 400; i++) {
      const picked = pickNext(route, new Set(), 0, random)!
      counts.set(picked.key.label, (counts.get(picked.key.label) ?? 0) + 1)
    }
    expect(Object.fromEntries(counts)).toEqual({ a: 300, b: 100 })
  })

  it('skips resting and tried candidates, then falls to the next priority, then to none', () => {
    const a = candidate('a', 0, 1, resting(1000))
    const b = candidate('b', 0, 1)
    const backup = candidate('backup', 1, 1)
    const route: Route = { candidates: [a, b, backup] }
    expect(pickNext(route, new Set(), 0, Math.random)).toBe(b)
    expect(pickNext(route, new Set([b]), 0, Math.random)).toBe(backup)
    expect(pickNext(route, new Set([b, backup]), 0, Math.random)).toBeNull()
    // Its rest over, a is back.
    expect(pickNext(route, new Set([b, backup]), 1000, Math.random)).toBe(a)
  })

  it('a route of one candidate tries it even while it rests (nothing to fail over to)', () => {
    const only = candidate('only', 0, 1, resting(1000))
    expect(pickNext({ candidates: [only] }, new Set(), 0, Math.random)).toBe(only)
    expect(pickNext({ candidates: [only] }, new Set([only]), 0, Math.random)).toBeNull()
  })

  it('soonestRecovery: the nearest end of a cooldown when all rest; null when one is open or only refusals rest', () => {
    const a = candidate('a', 0, 1, resting(5000, 'rate_limited'))
    const b = candidate('b', 1, 1, resting(2000, 'failing'))
    const refused = candidate('c', 1, 1, resting(900, 'refused'))
    expect(soonestRecovery({ candidates: [a, b, refused] }, 0)).toBe(2000)
    expect(soonestRecovery({ candidates: [refused] }, 0)).toBeNull()
    expect(soonestRecovery({ candidates: [a, candidate('open', 0, 1)] }, 0)).toBeNull()
  })
})

describe('retryAfter', () => {
  it('prefers retry-after-ms, then seconds, then an HTTP date', () => {
    expect(retryAfter({ 'retry-after-ms': '1500.2', 'retry-after': '9' }, 0)).toBe(1501)
    expect(retryAfter({ 'retry-after': '2' }, 0)).toBe(2000)
    const now = Date.UTC(2026, 0, 1)
    expect(retryAfter({ 'retry-after': new Date(now + 4000).toUTCString() }, now)).toBe(4000)
    expect(retryAfter({ 'retry-after': 'soon' }, 0)).toBeNull()
    expect(retryAfter({}, 0)).toBeNull()
  })
})

describe('routes in the config', () => {
  const env = { JWT_SECRET: 'x'.repeat(40) }
  it('refuses a deployment naming no configured upstream, and a key pool whose variable is unset', () => {
    expect(() =>
      loadConfig({
        file: { routes: [{ model: 'gpt-4o', deployments: [{ upstream: 'nope' }] }] },
        env,
      }),
    ).toThrow('routes.0.deployments.0.upstream: no upstream is named nope')
    const pooled = {
      upstreams: [{ name: 'default', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnvs: ['K1', 'K2'] }],
    }
    expect(() => loadConfig({ file: pooled, env: { ...env, K1: 'a' } })).toThrow(
      'upstreams.default.apiKeyEnvs: K2 is not set',
    )
    expect(
      loadConfig({ file: pooled, env: { ...env, K1: 'a', K2: 'b' } }).secrets.upstreamKeyPools,
    ).toEqual({
      default: [
        { env: 'K1', key: 'a' },
        { env: 'K2', key: 'b' },
      ],
    })
  })
})
