import { type Child, startNode, waitForPort } from '../proc/processes.ts'
import { type Target, UPSTREAM_KEY } from './target.ts'

/** How the floor sends a stream: see bench/targets/floor-proxy.ts. */
export type FloorStream = 'web' | 'node'

/** Starts the bare pass-through (bench/targets/floor-proxy.ts) in a process of its own. */
export async function startFloor(
  mockOrigin: string,
  stream: FloorStream,
  inspectPort?: number,
  /** The floor plus the least metering (floor-ledger.ts), on a SQLite file or a postgres:// URL. */
  ledger?: { name: string; where: string },
): Promise<{ child: Child; target: Target }> {
  const name = ledger?.name ?? 'floor'
  const child = startNode(name, 'bench/targets/floor-proxy.ts', {
    ipc: true,
    nodeArgs: inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [],
    env: {
      UPSTREAM_BASE_URL: `${mockOrigin}/v1`,
      UPSTREAM_API_KEY: UPSTREAM_KEY,
      FLOOR_CONNECTIONS: '2048',
      FLOOR_STREAM: stream,
      ...(ledger ? { FLOOR_LEDGER: ledger.where } : {}),
    },
  })
  const origin = `http://127.0.0.1:${await waitForPort(child)}`
  // The floor ignores the client's Authorization; it gets the same headers as the gateway for parity.
  const headers = { 'content-type': 'application/json', authorization: 'Bearer not-checked' }
  return {
    child,
    target: { name, kind: 'floor', pid: child.pid, origin, headers, inspectPort },
  }
}
