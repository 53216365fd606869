import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createProcessDatabase,
  freePort,
  type ProcessDatabase,
  type RunningGateway,
  runToExit,
  startProcess,
} from '../helpers/spawn-gateway.ts'

/**
 * What a newcomer meets first: a busy port answers with one line naming PORT=..., not a stack
 * trace; the demo mints fresh sign-in links at a key press and keeps request logs off screen.
 */
describe('newcomer', () => {
  let database: ProcessDatabase | undefined
  let busy: Server | undefined
  let demo: RunningGateway | undefined
  afterEach(async () => {
    await demo?.stop('SIGKILL')
    demo = undefined
    await new Promise((resolve) => (busy ? busy.close(resolve) : resolve(null)))
    busy = undefined
    await database?.drop()
    database = undefined
  })

  async function occupyPort(): Promise<number> {
    const port = await freePort()
    busy = createServer()
    await new Promise<void>((resolve) => busy!.listen(port, '127.0.0.1', resolve))
    return port
  }

  const stackLine = /^\s+at /m

  it('npm start on a busy port: one line with the PORT=... hint', async () => {
    database = await createProcessDatabase()
    const port = await occupyPort()
    const { code, output } = await runToExit('src/main.ts', [], {
      DATABASE_URL: database.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      JWT_SECRET: 'newcomer-secret-0123456789abcdef0123',
      LOG_LEVEL: 'warn',
    })
    expect(code, output).toBe(1)
    expect(output).toContain(`Port ${port} is already in use`)
    expect(output).toContain(`PORT=${port + 1} npm start`)
    expect(output).not.toMatch(stackLine)
  }, 120_000)

  it('npm run demo on a busy port: the same hint for the demo', async () => {
    database = await createProcessDatabase()
    const port = await occupyPort()
    const { code, output } = await runToExit('src/demo/main.ts', [], {
      DEMO_DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    })
    expect(code, output).toBe(1)
    expect(output).toContain(`PORT=${port + 1} npm run demo`)
    expect(output).not.toMatch(stackLine)
  }, 120_000)

  it('npm run demo: `l` prints fresh sign-in links; requests are not logged by default', async () => {
    database = await createProcessDatabase()
    demo = startProcess(
      'src/demo/main.ts',
      [],
      { PORT: '0', DEMO_DATABASE_URL: database.url, LOG_FORMAT: 'json' },
      undefined,
      'pipe',
    )
    const links = () => [...demo!.output().matchAll(/^ {2}Sign in \(demo user\)\s+(\S+)$/gm)]
    await expect.poll(() => links().length, { timeout: 90_000, interval: 200 }).toBe(1)
    const gateway = /^ {2}Gateway\s+(\S+)$/m.exec(demo.output())![1]!
    expect((await fetch(`${gateway}/healthz`)).status).toBe(200)
    expect((await fetch(`${gateway}/api/v1/billing/plans`)).status).toBe(200)

    demo.child.stdin!.write('l\n')
    await expect.poll(() => links().length, { timeout: 30_000, interval: 100 }).toBe(2)
    const [first, second] = links().map((m) => m[1])
    expect(second).not.toBe(first)
    // The fresh link opens its sign-in page.
    expect((await fetch(second!)).status).toBe(200)
    expect(demo.output()).not.toMatch(/"msg":"request"/)
  }, 180_000)
})
