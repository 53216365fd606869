import { afterEach, describe, expect, it } from 'vitest'
import { createProcessDatabase, type ProcessDatabase, runToExit } from '../helpers/spawn-gateway.ts'

/** `npm run gateway -- migrate` and `npm run gateway -- db status`, run as the operator runs them. */
describe(`gateway migrate / db status (${process.env.TEST_DATABASE ?? 'sqlite'})`, () => {
  let database: ProcessDatabase | undefined
  afterEach(async () => {
    await database?.drop()
    database = undefined
  })

  const cli = (...args: string[]) =>
    runToExit('src/cli.ts', args, { DATABASE_URL: database!.url, LOG_LEVEL: 'info' })

  it('db status on a fresh database lists every migration as pending and applies nothing', async () => {
    database = await createProcessDatabase()
    const first = await cli('db', 'status')
    expect(first.code, first.output).toBe(0)
    expect(first.output, first.output).toMatch(/pending\s+0001_init/)
    expect(first.output, first.output).toMatch(/0 applied, \d+ pending/)
    // A status command must not change the database: asking twice gives the same answer.
    const again = await cli('db', 'status')
    expect(again.output, again.output).toMatch(/pending\s+0001_init/)
  }, 120_000)

  it('migrate applies the migrations and names them; db status then reports them applied', async () => {
    database = await createProcessDatabase()
    const migrate = await cli('migrate')
    expect(migrate.code, migrate.output).toBe(0)
    expect(migrate.output, migrate.output).toMatch(/Applied migrations: .*0001_init/)

    const status = await cli('db', 'status')
    expect(status.code, status.output).toBe(0)
    expect(status.output, status.output).toMatch(/applied\s+0001_init\s+\d{4}-\d\d-\d\dT/)
    expect(status.output, status.output).toMatch(/\d+ applied, 0 pending/)
    expect(status.output, status.output).not.toMatch(/pending\s+0001_init/)

    const second = await cli('migrate')
    expect(second.code, second.output).toBe(0)
    expect(second.output, second.output).not.toMatch(/Applied migrations/)
    expect(second.output, second.output).toMatch(/no migration applied/i)
  }, 120_000)

  it('an unknown command prints the usage and exits non-zero', async () => {
    database = await createProcessDatabase()
    const result = await cli('db', 'frobnicate')
    expect(result.code, result.output).not.toBe(0)
    expect(result.output, result.output).toMatch(/usage: gateway/)
  }, 120_000)
})
