import { Worker } from 'node:worker_threads'
import type { HostileClientsData, HostileCommand, HostileResults } from './hostile-client.ts'

const script = new URL('./hostile-client.ts', import.meta.url).pathname

export interface HostileClients {
  /** Holds the attack: the calls in flight are aborted, no new one starts until `resume`. */
  pause(): Promise<void>
  resume(): Promise<void>
  /** Stops the attack; resolves with what each user got once their calls in flight end. */
  stop(): Promise<HostileResults>
}

/** Starts the attackers on a thread of their own; resolves once they are sending. */
export async function startHostileClients(data: HostileClientsData): Promise<HostileClients> {
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script)}) })`
  const worker = new Worker(bootstrap, { eval: true, workerData: data })
  const failed = new Promise<never>((_, reject) => worker.once('error', reject))
  await Promise.race([new Promise((resolve) => worker.once('message', resolve)), failed])
  const told = async (command: HostileCommand) => {
    const answered = new Promise((resolve) => worker.once('message', resolve))
    worker.postMessage(command)
    await Promise.race([answered, failed])
  }
  return {
    pause: () => told('pause'),
    resume: () => told('resume'),
    async stop() {
      const done = new Promise<HostileResults>((resolve) => worker.once('message', resolve))
      worker.postMessage('stop')
      const results = await Promise.race([done, failed])
      await worker.terminate()
      return results
    },
  }
}
