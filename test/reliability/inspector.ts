import { WebSocket } from 'undici'

/**
 * Reads a gateway process's memory through the V8 inspector (the process runs
 * with NODE_OPTIONS="--expose-gc --inspect=127.0.0.1:PORT"): a full GC first,
 * then process.memoryUsage() and the count of active handles and requests.
 */
export interface MemorySample {
  rss: number
  heapUsed: number
  external: number
  /** process.getActiveResourcesInfo(): sockets, timers, file handles... */
  resources: number
}

export async function connectInspector(port: number) {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string
  }>
  const socket = new WebSocket(list[0]!.webSocketDebuggerUrl)
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true })
    socket.addEventListener('error', reject, { once: true })
  })
  let nextId = 1
  const pending = new Map<number, (value: unknown) => void>()
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown }
    if (message.id !== undefined) pending.get(message.id)?.(message.result)
  })
  const evaluate = (expression: string) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++
      pending.set(id, resolve)
      socket.send(JSON.stringify({ id, method: 'Runtime.evaluate', params: { expression } }))
    })
  return {
    async sample(): Promise<MemorySample> {
      const result = (await evaluate(
        `(gc(), gc(), JSON.stringify({ ...process.memoryUsage(), resources: process.getActiveResourcesInfo().length }))`,
      )) as { result: { value: string } }
      return JSON.parse(result.result.value) as MemorySample
    },
    close: () => socket.close(),
  }
}
