import { Worker } from 'node:worker_threads'
import type { HostileClientsData, HostileResults } from './hostile-client.ts'

const script = new URL('./hostile-client.ts', import.meta.url).pathname

export interface HostileClients {
  /** Stops the attack; resolves with what each user got once their calls in flight end. */
  stop(): Promise<HostileResults>
}

/** Starts the attackers on a thread of their own; resolves once they are sending. */
export async function startHostileClients(data: HostileClientsData): Promise<HostileClients> {
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script)}) })`
  const worker = new Worker(bootstrap, { eval: true, workerData: data })
  const failed = new Promise<never>((_, reject) => worker.once('error', reject))
  await Promise.race([new Promise((resolve) => worker.once('message', resolve)), failed])
  return {
    async stop() {
      const done = new Promise<HostileResults>((resolve) => worker.once('message', resolve))
      worker.postMessage('stop')
      const results = await Promise.race([done, failed])
      await worker.terminate()
      return results
    },
  }
}
