import { createServer } from 'node:http'
import { parentPort, Worker, workerData } from 'node:worker_threads'

/*
 * An upstream for latency scenarios (hostile-bodies.test.ts), on a thread of
 * its own: it reads each request to its end without parsing it and answers one
 * short chat completion with its usage. The recording fake (fake-upstream.ts)
 * parses and keeps every body on the test's own event loop, where a few
 * megabytes of an attacker's JSON would delay the victim's timer, not the
 * gateway: a real upstream serves one client's call apart from another's.
 */
const ANSWER = JSON.stringify({
  id: 'chatcmpl-thread',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Fine, thanks.', refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 13, completion_tokens: 1, total_tokens: 14 },
})

function serve() {
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(ANSWER),
      })
      response.end(ANSWER)
    })
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    parentPort?.postMessage(typeof address === 'object' && address ? address.port : 0)
  })
}

export interface ThreadUpstream {
  url: string
  close(): Promise<void>
}

/** Starts the upstream on a thread of its own; resolves with its base URL once it listens. */
export async function startThreadUpstream(): Promise<ThreadUpstream> {
  const script = new URL(import.meta.url).pathname
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script)}) })`
  const worker = new Worker(bootstrap, { eval: true, workerData: 'serve' })
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  return {
    url: `http://127.0.0.1:${port}/v1`,
    async close() {
      await worker.terminate()
    },
  }
}

if (parentPort && workerData === 'serve') serve()
