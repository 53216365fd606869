import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { adminQuery, TEST_DIALECT, TEST_POSTGRES_URL } from './test-database.ts'

/**
 * Runs the real entry points (src/main.ts, src/cli.ts) as child processes from the
 * repository root, under tsx as `npm run gateway` does (`npm start` runs their build:
 * test/reliability/build.test.ts).
 */
export const repoRoot = join(import.meta.dirname, '..', '..')

/** The child's environment: only what the test gives, plus PATH/HOME so node runs. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', ...env }
}

/** A port nobody listens on right now (bind to 0, read it, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface RunningGateway {
  child: ChildProcess
  /** Everything written so far to stdout and stderr, interleaved. */
  output(): string
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  exited: Promise<number | string>
  stop(signal?: NodeJS.Signals): Promise<number | string>
}

/**
 * Starts `tsx <script> ...args` (as `npm run gateway` does) with the given environment;
 * `nodeOptions` replaces `--import tsx` to run a compiled bundle (dist/main.js) as `npm start` does.
 */
export function startProcess(
  script: string,
  args: string[],
  env: Record<string, string>,
  nodeOptions: string[] = ['--import', 'tsx'],
  /** 'pipe' to type into the process (child.stdin), e.g. the demo's key commands. */
  stdin: 'ignore' | 'pipe' = 'ignore',
): RunningGateway {
  // `node --import tsx` is what `tsx script` runs, minus tsx's wrapper process: a signal
  // (SIGKILL included) reaches the gateway itself and never leaves an orphan behind.
  const child = spawn(process.execPath, [...nodeOptions, script, ...args], {
    cwd: repoRoot,
    env: childEnv(env),
    stdio: [stdin, 'pipe', 'pipe'],
  })
  let text = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8')
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8')
  })
  const exited = new Promise<number | string>((resolve) => {
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  return {
    child,
    output: () => text,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

/** Runs a command to completion: `tsx src/cli.ts db status`, a start that must fail, ... */
export async function runToExit(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 90_000,
  nodeOptions?: string[],
): Promise<{ code: number | string; output: string }> {
  const running = startProcess(script, args, env, nodeOptions)
  const timer = setTimeout(() => running.child.kill('SIGKILL'), timeoutMs)
  try {
    const code = await running.exited
    return { code, output: running.output() }
  } finally {
    clearTimeout(timer)
  }
}

/** Polls url until it answers 200, the process exits, or the time is up. */
export async function waitForOk(url: string, running: RunningGateway, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  let exitCode: number | string | null = null
  void running.exited.then((code) => {
    exitCode = code
  })
  while (Date.now() < deadline) {
    if (exitCode !== null) {
      throw new Error(`gateway exited (${exitCode}) before ${url} answered:\n${running.output()}`)
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      if (response.status === 200) return response
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${running.output()}`)
}

/**
 * `src/main.ts` (what `npm start` runs) on a free port of 127.0.0.1 (or env.PORT), with `env`
 * added to its environment (DATABASE_URL at least), pushed onto `running` at
 * once (so the caller's cleanup stops it even when it never gets up), and
 * waited for until /healthz answers 200.
 */
export async function startGateway(
  env: Record<string, string> & { DATABASE_URL: string },
  running: RunningGateway[],
): Promise<{ gateway: RunningGateway; base: string; health: Response }> {
  const port = env.PORT ? Number(env.PORT) : await freePort()
  const gateway = startProcess('src/main.ts', [], { PORT: String(port), HOST: '127.0.0.1', ...env })
  running.push(gateway)
  const base = `http://127.0.0.1:${port}`
  const health = await waitForOk(`${base}/healthz`, gateway)
  return { gateway, base, health }
}

export interface ProcessDatabase {
  /** DATABASE_URL for a child process: a temp SQLite file, or a fresh PostgreSQL schema. */
  url: string
  dir: string
  drop(): Promise<void>
}

/**
 * An empty, unmigrated database for a child process, in the dialect of the
 * current pass. On PostgreSQL the schema travels in the URL
 * (`?options=-c search_path=...`), so the child needs no test-only code.
 */
export async function createProcessDatabase(): Promise<ProcessDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-process-'))
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  if (TEST_DIALECT !== 'postgres') {
    return { url: `sqlite:${join(dir, 'gateway.db')}`, dir, drop: async () => removeDir() }
  }
  const schema = `p_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  await adminQuery(`CREATE SCHEMA ${schema}`)
  const url = new URL(TEST_POSTGRES_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return {
    url: url.href,
    dir,
    drop: async () => {
      removeDir()
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    },
  }
}
