import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { syncConfiguredPlans } from '../../src/billing/plans.sync.ts'
import { runPlansCommand } from '../../src/cli/plans.ts'
import { createHarness, type Harness } from '../helpers/harness.ts'
import { createProcessDatabase, type ProcessDatabase, runToExit } from '../helpers/spawn-gateway.ts'
import { TEST_DIALECT } from '../helpers/test-database.ts'

/** `gateway plans sync | import FILE.json | export`, as the seed's setup_plans.py was used. */
describe(`gateway plans CLI (${TEST_DIALECT})`, () => {
  let database: ProcessDatabase
  beforeAll(async () => {
    database = await createProcessDatabase()
  })
  afterAll(() => database.drop())
  const cli = (...args: string[]) =>
    runToExit('src/cli.ts', ['plans', ...args], { DATABASE_URL: database.url, LOG_LEVEL: 'warn' })
  const exported = async () => {
    const result = await cli('export')
    expect(result.code, result.output).toBe(0)
    return JSON.parse(result.output) as Array<Record<string, unknown>>
  }

  it('sync upserts the config plans; export prints them; import upserts a file; a bad file writes nothing', async () => {
    const sync = await cli('sync')
    expect(sync.code, sync.output).toBe(0)
    expect(JSON.parse(sync.output), sync.output).toEqual({
      created: ['free', 'pro'],
      updated: [],
      unchanged: [],
    })
    const plans = await exported()
    expect(plans.map((p) => [p.id, p.price, p.name_ru])).toEqual([
      ['free', 0, 'Бесплатный'],
      ['pro', 990, 'Профессиональный'],
    ])

    const file = join(database.dir, 'plans.json')
    const pro = { ...plans[1], price: '1290.00', quotas: { requests: 20000 } }
    const team = { id: 'team', name: 'Team', price: 4990.5, interval: 'year', is_active: false }
    writeFileSync(file, JSON.stringify([pro, team]))
    const imported = await cli('import', file)
    expect(imported.code, imported.output).toBe(0)
    expect(JSON.parse(imported.output)).toEqual({
      created: ['team'],
      updated: ['pro'],
      unchanged: [],
    })
    // Exported by display_order (team has the default 0), then id.
    const after = await exported()
    expect(after.map((p) => [p.id, p.price, p.is_active])).toEqual([
      ['free', 0, true],
      ['team', 4990.5, false],
      ['pro', 1290, true],
    ])
    expect(after[2]!.quotas).toEqual({ tokens_input: null, tokens_output: null, requests: 20000 })

    writeFileSync(
      file,
      JSON.stringify({
        plans: [
          { id: 'ok', name: 'Ok', price: 1 },
          { id: 'bad', name: 'B', price: -1 },
        ],
      }),
    )
    const bad = await cli('import', file)
    expect(bad.code, bad.output).not.toBe(0)
    expect(bad.output).toContain('[1].price')
    expect((await exported()).map((p) => p.id)).toEqual(['free', 'team', 'pro'])
  }, 120_000)
})

describe(`plans from config (${TEST_DIALECT})`, () => {
  let h: Harness
  afterEach(() => h.close())

  it('are upserted at start through the same schema, rewriting only what changed', async () => {
    h = await createHarness()
    const first = await h.db
      .selectFrom('billing_plan')
      .select(['id', 'updated_at'])
      .orderBy('id')
      .execute()
    h.clock.advance(3_600_000)
    const again = await syncConfiguredPlans(h.deps)
    expect(again).toEqual({ created: [], updated: [], unchanged: ['free', 'pro'] })
    const changedConfig = {
      ...h.deps,
      config: { ...h.deps.config, plans: [{ ...h.deps.config.plans[1]!, price: '1490.00' }] },
    }
    expect(await syncConfiguredPlans(changedConfig)).toEqual({
      created: [],
      updated: ['pro'],
      unchanged: [],
    })
    const rows = await h.db
      .selectFrom('billing_plan')
      .select(['id', 'price', 'updated_at'])
      .orderBy('id')
      .execute()
    expect(rows.map((r) => [r.id, Number(r.price), Number(r.updated_at)])).toEqual([
      ['free', 0, Number(first[0]!.updated_at)],
      ['pro', 149000, Number(first[1]!.updated_at) + 3600],
    ])
  })

  it('a bad config plan fails naming the entry and field, before anything is written', async () => {
    h = await createHarness({ config: { plans: [] } })
    const bad = {
      ...h.deps,
      config: {
        ...h.deps.config,
        plans: [
          {
            id: 'fine',
            name: 'Fine',
            price: 1,
            currency: 'RUB',
            interval: 'month' as const,
            features: [],
          },
          {
            id: 'x',
            name: 'X',
            price: 1,
            currency: 'RUB',
            interval: 'month' as const,
            features: [],
            quotas: { requests: -5 },
          },
        ],
      },
    }
    await expect(syncConfiguredPlans(bad)).rejects.toThrow(/plans\[1\]\.quotas\.requests/)
    expect(await h.db.selectFrom('billing_plan').selectAll().execute()).toEqual([])
  })

  it('export writes every plan, inactive ones too, in the POST shape', async () => {
    h = await createHarness()
    await h.db.updateTable('billing_plan').set({ is_active: 0 }).where('id', '=', 'pro').execute()
    let out = ''
    await runPlansCommand(h.deps, ['export'], (text) => {
      out += text
    })
    const plans = JSON.parse(out)
    expect(plans.map((p: { id: string; is_active: boolean }) => [p.id, p.is_active])).toEqual([
      ['free', true],
      ['pro', false],
    ])
    await expect(runPlansCommand(h.deps, ['frobnicate'])).rejects.toThrow(/unknown plans command/)
  })
})
