import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDb } from '../../db/client.ts'
import { mintToken } from '../../src/cli/token.ts'
import { loadConfig, readConfigFile } from '../../src/config/load.ts'
import { type FakeUpstream, sleep, startFakeUpstream } from '../helpers/fake-upstream.ts'
import {
  createProcessDatabase,
  freePort,
  type ProcessDatabase,
  type RunningGateway,
  repoRoot,
  runToExit,
  startGateway,
} from '../helpers/spawn-gateway.ts'

const JWT_SECRET = 'startup-test-secret-0123456789abcdef'

/** src/main.ts under tsx, as a child process from the repo root (built: build.test.ts). */
describe(`npm start (${process.env.TEST_DATABASE ?? 'sqlite'})`, () => {
  let database: ProcessDatabase | undefined
  const running: RunningGateway[] = []
  let upstream: FakeUpstream | undefined
  afterEach(async () => {
    for (const gateway of running.splice(0)) await gateway.stop('SIGKILL')
    await upstream?.close()
    upstream = undefined
    await database?.drop()
    database = undefined
  })

  const start = (env: Record<string, string> = {}) =>
    startGateway({ DATABASE_URL: database!.url, LOG_LEVEL: 'info', JWT_SECRET, ...env }, running)

  it('starts, migrates, answers /healthz and stops cleanly on SIGTERM; a second start applies nothing', async () => {
    database = await createProcessDatabase()

    const first = await start()
    const body = await first.health.text()
    expect(JSON.parse(body), body).toEqual({ status: 'ok' })
    const ready = await fetch(`${first.base}/readyz`)
    expect(ready.status, await ready.clone().text()).toBe(200)
    const firstCode = await first.gateway.stop('SIGTERM')
    const firstLog = first.gateway.output()
    expect(firstCode, firstLog).toBe(0)
    expect(firstLog, firstLog).toMatch(/Applied migrations: .*0001_init/)
    expect(firstLog, firstLog).toContain('gateway listening')
    expect(firstLog, firstLog).toContain(
      'YooKassa billing not configured (set YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY to enable)',
    )
    expect(firstLog, firstLog).toContain('"stopped"')
    expect(firstLog, firstLog).not.toContain(JWT_SECRET)

    const second = await start()
    const secondCode = await second.gateway.stop('SIGTERM')
    const secondLog = second.gateway.output()
    expect(secondCode, secondLog).toBe(0)
    expect(secondLog, secondLog).not.toMatch(/Applied migrations/)
    expect(secondLog, secondLog).not.toContain('0001_init')
    expect(secondLog, secondLog).toMatch(/no migration applied/i)
  }, 180_000)

  it('takes a token minted by `gateway token` (README first try) and a key created with it', async () => {
    database = await createProcessDatabase()
    const { base } = await start()

    const minted = await runToExit('src/cli.ts', ['token', '--sub', 'admin', '--role', 'admin'], {
      JWT_SECRET,
      DATABASE_URL: database.url,
    })
    expect(minted.code, minted.output).toBe(0)
    const token = minted.output.trim()
    expect(token, minted.output).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)

    const created = await fetch(`${base}/api/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'first try' }),
    })
    const createdText = await created.text()
    expect(created.status, createdText).toBe(201)
    const { key } = JSON.parse(createdText) as { key: string }

    const listed = await fetch(`${base}/api/v1/keys`, {
      headers: { authorization: `Bearer ${key}` },
    })
    const listedText = await listed.text()
    expect(listed.status, listedText).toBe(200)
    expect(JSON.parse(listedText).data, listedText).toHaveLength(1)
  }, 180_000)

  it('drains an in-flight request on SIGTERM, then exits 0', async () => {
    database = await createProcessDatabase()
    upstream = await startFakeUpstream()
    upstream.behave({ latencyMs: 1_500 })
    const { gateway, base } = await start({
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_API_KEY: 'sk-upstream-for-drain-test',
    })
    const token = await mintToken(
      { upstreamApiKeys: {}, jwtSecret: JWT_SECRET },
      { sub: 'drainer' },
    )

    const pending = fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-3.5-turbo',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    })
    // SIGTERM only once the request is in flight at the upstream.
    const deadline = Date.now() + 30_000
    while (upstream.requests.length === 0 && Date.now() < deadline) await sleep(20)
    expect(upstream.requests.length, gateway.output()).toBe(1)
    gateway.child.kill('SIGTERM')

    const res = await pending
    const text = await res.text()
    expect(res.status, `${text}\n${gateway.output()}`).toBe(200)
    expect(JSON.parse(text).choices?.[0]?.message?.content, text).toBeTruthy()
    const code = await gateway.exited
    const log = gateway.output()
    expect(code, log).toBe(0)
    expect(log.indexOf('shutting down'), log).toBeGreaterThan(-1)
    expect(log.indexOf('"stopped"'), log).toBeGreaterThan(log.indexOf('shutting down'))
  }, 180_000)

  it.each([
    ['PORT', 'abc', 'server.port'],
    ['LOG_LEVEL', 'loud', 'logLevel'],
    ['UPSTREAM_BASE_URL', 'not a url', 'upstreams.0.baseUrl'],
  ])(
    'exits non-zero naming the key when %s=%s',
    async (variable, value, key) => {
      database = await createProcessDatabase()
      const result = await runToExit('src/main.ts', [], {
        DATABASE_URL: database.url,
        HOST: '127.0.0.1',
        PORT: String(await freePort()),
        [variable]: value,
      })
      expect(result.code, result.output).not.toBe(0)
      expect(result.output, result.output).toContain(key)
      expect(result.output, result.output).toContain(variable)
      expect(result.output, result.output).not.toContain('gateway listening')
    },
    120_000,
  )

  it('exits non-zero naming the key when gateway.config.ts holds a bad value', async () => {
    database = await createProcessDatabase()
    const file = join(database.dir, 'bad.config.ts')
    writeFileSync(file, 'export default { server: { bodyLimitBytes: -5 } }\n')
    const result = await runToExit('src/main.ts', [], {
      DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      GATEWAY_CONFIG: file,
    })
    expect(result.code, result.output).not.toBe(0)
    expect(result.output, result.output).toContain('server.bodyLimitBytes')
  }, 120_000)
})

describe('defaults of a fresh clone', () => {
  it('listen on port 3000 of every interface and keep the data in ./data/gateway.db', async () => {
    const file = await readConfigFile(join(repoRoot, 'gateway.config.ts'))
    const { config } = loadConfig({ file, env: {} })
    expect(config.database.url).toBe('sqlite:./data/gateway.db')
    expect(config.server.port).toBe(3000)
    expect(config.server.host).toBe('0.0.0.0')
    expect(config.server.bodyLimitBytes).toBeGreaterThanOrEqual(10 * 1024 * 1024)
  })

  it('treat a plain path in DATABASE_URL as an embedded SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-plain-'))
    const database = createDb(join(dir, 'nested', 'plain.db'))
    try {
      expect(database.dialect).toBe('sqlite')
      await database.db.selectNoFrom((eb) => eb.lit(1).as('one')).execute()
      expect(existsSync(join(dir, 'nested', 'plain.db'))).toBe(true)
    } finally {
      await database.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
