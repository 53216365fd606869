import { WebSocket } from 'undici'

/**
 * Reads a target's V8 heap after a full garbage collection, through the inspector the target was
 * started with (--inspect=127.0.0.1:<port>). RSS alone cannot say whether memory "returns":
 * V8 and malloc keep freed pages for reuse, so RSS stays high after a burst even with no leak,
 * while the live heap after a forced GC drops back when nothing is retained.
 * The session is opened only for the memory scenario, after the timed rounds, and enables no
 * domain (no Debugger.enable), so it does not deoptimise the target.
 */
export interface HeapProbe {
  /** Forces a full GC and returns the used heap in bytes. */
  usedAfterGc(): Promise<number>
  close(): void
}

export async function openHeapProbe(inspectPort: number): Promise<HeapProbe> {
  const list = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string
  }>
  const url = list[0]?.webSocketDebuggerUrl
  if (!url) throw new Error(`no inspector target on 127.0.0.1:${inspectPort}`)
  const socket = new WebSocket(url)
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true })
    socket.addEventListener('error', () => reject(new Error(`inspector ${url} unreachable`)), {
      once: true,
    })
  })
  let nextId = 0
  const pending = new Map<number, (result: Record<string, unknown>) => void>()
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as {
      id?: number
      result?: Record<string, unknown>
    }
    if (message.id !== undefined) pending.get(message.id)?.(message.result ?? {})
    if (message.id !== undefined) pending.delete(message.id)
  })
  const send = (method: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = ++nextId
      pending.set(id, resolve)
      socket.send(JSON.stringify({ id, method }))
    })
  return {
    async usedAfterGc() {
      await send('HeapProfiler.collectGarbage')
      const usage = await send('Runtime.getHeapUsage')
      return Number(usage.usedSize)
    },
    close: () => socket.close(),
  }
}
