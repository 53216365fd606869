import { type Child, startNode, waitForPort } from '../proc/processes.ts'
import { type Target, UPSTREAM_KEY } from './target.ts'

export interface Mock {
  child: Child
  origin: string
  target: Target
  stats(): Promise<{ served: number; open_slow: number }>
  release(): Promise<number>
}

export async function startMock(chunks: number): Promise<Mock> {
  const child = startNode('mock upstream', 'bench/targets/mock-upstream.ts', {
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
