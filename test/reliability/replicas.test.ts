import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_DIALECT } from '../helpers/test-database.ts'
import { audit } from './audit.ts'
import { type Cluster, chat, planConfig, startCluster, untilNothingReserved } from './cluster.ts'

/**
 * Three gateway processes on one database (a PostgreSQL schema, or one SQLite
 * file) behind a round-robin client: a burst of 300 requests against a quota
 * of 40 admits exactly 40, whichever replica each one reaches.
 */
describe(`reliability: three replicas, one quota (${TEST_DIALECT})`, () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster(planConfig({ requests: 40 }), 3)
  }, 120_000)
  afterAll(async () => cluster?.close())

  it('admits exactly 40 of a 300-request burst spread over three replicas; the audit holds', async () => {
    const token = await cluster.token('burst')
    const bases = cluster.replicas.map((r) => r.base)
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => chat(bases[i % bases.length]!, token)),
    )
    const statuses = answers.map((a) => ('status' in a ? a.status : String(a)))
    const count = (status: number) => statuses.filter((s) => s === status).length
    expect(count(200), JSON.stringify(statuses)).toBe(40)
    expect(count(429)).toBe(260)
    expect(cluster.upstream.requests).toHaveLength(40)
    await untilNothingReserved(cluster.db, 5_000)
    const report = await audit(cluster.db.db, {
      served: { requests: 40, tokens_input: 40 * 12, tokens_output: 40 * 7 },
    })
    expect(report.violations).toEqual([])
    expect(report.billed.requests).toBe(40)
    process.stdout.write(
      `[reliability replicas ${TEST_DIALECT}] 300 over 3 replicas: 200 x${count(200)}, 429 x${count(429)}; audit ok\n`,
    )
  }, 120_000)
})
