import { spawn } from 'node:child_process'
import { stripVTControlCharacters } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createProcessDatabase,
  freePort,
  type ProcessDatabase,
  type RunningGateway,
  repoRoot,
  startGateway,
  waitForOk,
} from '../helpers/spawn-gateway.ts'

/** A log line pino-pretty writes (colors stripped): `[18:47:41.231] INFO: message {...}`. */
const PRETTY_LINE = /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: /
const ESCAPE = '\u001b['

function lines(output: string) {
  return output
    .replaceAll('\r', '')
    .split('\n')
    .filter((line) => line.trim() !== '')
}

function isJson(line: string) {
  try {
    return typeof JSON.parse(line) === 'object'
  } catch {
    return false
  }
}

describe(`log format of npm start (${process.env.TEST_DATABASE ?? 'sqlite'})`, () => {
  const databases: ProcessDatabase[] = []
  const running: RunningGateway[] = []
  afterEach(async () => {
    for (const gateway of running.splice(0)) await gateway.stop('SIGKILL')
    for (const database of databases.splice(0)) await database.drop()
  })

  /** Starts `src/main.ts` with stdout a pipe (as under a log collector), waits for /healthz. */
  async function startPiped(env: Record<string, string>) {
    const database = await createProcessDatabase()
    databases.push(database)
    const { gateway } = await startGateway({ DATABASE_URL: database.url, ...env }, running)
    await waitForLine(gateway, /gateway listening/)
    return gateway
  }

  /** Starts `src/main.ts` with stdout a terminal: util-linux `script` gives it a pseudo-terminal. */
  async function startOnTerminal(env: Record<string, string>) {
    const database = await createProcessDatabase()
    databases.push(database)
    const port = await freePort()
    const child = spawn('script', ['-qfec', 'node --import tsx src/main.ts', '/dev/null'], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TERM: 'xterm-256color',
        DATABASE_URL: database.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let text = ''
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8')
    })
    const exited = new Promise<number | string>((resolve) =>
      child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown')),
    )
    const gateway: RunningGateway = {
      child,
      output: () => text,
      exited,
      async stop() {
        // `script` forwards nothing on SIGKILL: end the gateway (its child) with SIGTERM first.
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        try {
          return await exited
        } finally {
          clearTimeout(timer)
        }
      },
    }
    running.push(gateway)
    await waitForOk(`http://127.0.0.1:${port}/healthz`, gateway)
    await waitForLine(gateway, /gateway listening/)
    return gateway
  }

  async function waitForLine(gateway: RunningGateway, pattern: RegExp) {
    for (let i = 0; i < 100 && !pattern.test(gateway.output()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(gateway.output()).toMatch(pattern)
  }

  it('writes JSON lines when stdout is not a terminal, and with LOG_FORMAT=json on one', async () => {
    const [piped, terminal] = await Promise.all([
      startPiped({}),
      startOnTerminal({ LOG_FORMAT: 'json' }),
    ])
    for (const gateway of [piped, terminal]) {
      const output = gateway.output()
      const all = lines(output)
      expect(all.length, output).toBeGreaterThan(2)
      expect(
        all.filter((line) => !isJson(line)),
        output,
      ).toEqual([])
      const listening = all
        .map((line) => JSON.parse(line))
        .find((l) => l.msg === 'gateway listening')
      expect(listening, output).toMatchObject({ level: 'info', host: '127.0.0.1' })
      expect(output, output).not.toContain(ESCAPE)
    }
  }, 90_000)

  it('writes pretty colored lines on a terminal, and pretty lines with LOG_FORMAT=pretty on a pipe', async () => {
    const [terminal, piped] = await Promise.all([
      startOnTerminal({}),
      startPiped({ LOG_FORMAT: 'pretty' }),
    ])
    for (const gateway of [terminal, piped]) {
      const output = gateway.output()
      const all = lines(output)
      expect(all.filter(isJson), output).toEqual([])
      const listening = all.find((line) => line.includes('gateway listening'))
      expect(stripVTControlCharacters(listening ?? ''), output).toMatch(PRETTY_LINE)
      expect(listening, output).toContain('"port":')
    }
    // Colors are for a person at a terminal; a pipe gets the same lines without escapes.
    expect(terminal.output(), terminal.output()).toContain(ESCAPE)
    expect(piped.output(), piped.output()).not.toContain(ESCAPE)
  }, 90_000)
})
