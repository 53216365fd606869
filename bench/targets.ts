import { type Child, startNode, waitForPort } from './processes.ts'

/** Something the load is pointed at: a process (whose CPU and RSS are measured) and the headers to send. */
export interface Target {
  /** Short name in tables: direct, floor, sqlite, postgres, sqlite-key. */
  name: string
  kind: 'direct' | 'floor' | 'gateway'
  pid: number
  /** Origin, e.g. http://127.0.0.1:4321 */
  origin: string
  headers: Record<string, string>
  /** The process's inspector (127.0.0.1), used only to read the heap in the memory scenario. */
  inspectPort?: number
  /** PostgreSQL server processes serving this target, whose CPU is counted beside the target's. */
  dbPids?: () => Promise<number[]>
  /** One header set per distinct user, for the many-users scenario (gateways only). */
  userHeaders?: Array<Record<string, string>>
}

export const CHAT_PATH = '/v1/chat/completions'
export const UPSTREAM_KEY = 'sk-bench-upstream-key'

export interface Mock {
  child: Child
  origin: string
  target: Target
  stats(): Promise<{ served: number; open_slow: number }>
  release(): Promise<number>
}

export async function startMock(chunks: number): Promise<Mock> {
  const child = startNode('mock upstream', 'bench/mock-upstream.ts', {
    ipc: true,
    env: { MOCK_CHUNKS: String(chunks) },
  })
  const origin = `http://127.0.0.1:${await waitForPort(child)}`
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${UPSTREAM_KEY}` }
  return {
    child,
    origin,
    // "direct": the client calls the upstream itself, the baseline of the 1-concurrent overhead.
    target: { name: 'direct', kind: 'direct', pid: child.pid, origin, headers },
    async stats() {
      return (await (await fetch(`${origin}/_mock/stats`)).json()) as {
        served: number
        open_slow: number
      }
    },
    async release() {
      const res = await fetch(`${origin}/_mock/release`, { method: 'POST' })
      return ((await res.json()) as { released: number }).released
    },
  }
}

export async function startFloor(
  mockOrigin: string,
  inspectPort?: number,
): Promise<{ child: Child; target: Target }> {
  const child = startNode('floor proxy', 'bench/floor-proxy.ts', {
    ipc: true,
    nodeArgs: inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [],
    env: {
      UPSTREAM_BASE_URL: `${mockOrigin}/v1`,
      UPSTREAM_API_KEY: UPSTREAM_KEY,
      FLOOR_CONNECTIONS: '2048',
    },
  })
  const origin = `http://127.0.0.1:${await waitForPort(child)}`
  // The floor ignores the client's Authorization; it gets the same headers as the gateway for parity.
  const headers = { 'content-type': 'application/json', authorization: 'Bearer not-checked' }
  return {
    child,
    target: { name: 'floor', kind: 'floor', pid: child.pid, origin, headers, inspectPort },
  }
}
