import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The repository root: children run from it so `--import tsx` and relative paths resolve. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface Child {
  name: string
  pid: number
  proc: ChildProcess
  /** The last lines the child wrote to stderr/stdout, for a failure message. */
  tail(): string
  stop(): Promise<void>
}

/** Every child this run started, so that a crash or Ctrl-C stops exactly those and no other. */
const started = new Set<Child>()

export interface StartOptions {
  env?: Record<string, string | undefined>
  nodeArgs?: string[]
  ipc?: boolean
  /** A compiled script (a .js bundle): run by node itself, without tsx's loader. */
  compiled?: boolean
}

/**
 * Starts `node --import tsx <script>` (no tsx wrapper process, so pid is the real server's),
 * or `node <script>` for a compiled one.
 */
export function startNode(name: string, script: string, options: StartOptions = {}): Child {
  const loader = options.compiled ? [] : ['--import', 'tsx']
  const args = [...loader, ...(options.nodeArgs ?? []), script]
  const stdio = options.ipc
    ? (['ignore', 'pipe', 'pipe', 'ipc'] as const)
    : (['ignore', 'pipe', 'pipe'] as const)
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: [...stdio],
  })
  if (proc.pid === undefined) throw new Error(`${name}: spawn failed`)
  let output = ''
  const keep = (data: Buffer) => {
    output = (output + data.toString('utf8')).slice(-4000)
  }
  proc.stdout?.on('data', keep)
  proc.stderr?.on('data', keep)
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const child: Child = {
    name,
    pid: proc.pid,
    proc,
    tail: () => output.trim(),
    async stop() {
      started.delete(child)
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
  started.add(child)
  return child
}

/** Resolves with the port a child sends over IPC once it listens. */
export function waitForPort(child: Child, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${child.name}: no port\n${child.tail()}`)),
      timeoutMs,
    )
    child.proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${child.name} exited (${code})\n${child.tail()}`))
    })
    child.proc.on('message', (message: { ready?: boolean; port?: number }) => {
      if (!message?.ready || typeof message.port !== 'number') return
      clearTimeout(timer)
      resolve(message.port)
    })
  })
}

/** A free port on 127.0.0.1, for a child that takes PORT rather than reporting port 0. */
export { freePort } from '../../test/helpers/spawn-gateway.ts'

/** Polls url until it answers 2xx, or fails with the child's output. */
export async function waitForHttp(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`${child.name} exited\n${child.tail()}`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${child.name}: ${url} not ready after ${timeoutMs} ms\n${child.tail()}`)
}

export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((child) => child.stop()))
}
