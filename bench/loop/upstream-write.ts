import { Readable } from 'node:stream'
import { setImmediate } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import { Pool } from 'undici'

/*
 * `tsx bench/loop/upstream-write.ts`: the longest span of the event loop while
 * a 10 MiB body goes upstream (src/pipeline/upstream/forward.ts), handed to the
 * socket whole or in 256 KiB slices, one per turn of the loop. The upstream
 * reads on a thread of its own, so its loop is not the one measured.
 */
const SLICE = 256 * 1024
const upstream = new Worker(
  `const http = require('node:http')
   const server = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')) })
   server.listen(0, '127.0.0.1', () => require('node:worker_threads').parentPort.postMessage(server.address().port))`,
  { eval: true },
)
const port = await new Promise<number>((resolve) => upstream.once('message', resolve))
const pool = new Pool(`http://127.0.0.1:${port}`)
const body = Buffer.alloc(10 * 1024 * 1024, 32)

async function* slices(bytes: Buffer) {
  for (let at = 0; at < bytes.length; at += SLICE) {
    if (at > 0) await setImmediate()
    yield bytes.subarray(at, at + SLICE)
  }
}

for (const mode of ['whole', 'sliced', 'whole', 'sliced']) {
  let longest = 0
  let last = performance.now()
  let probing = true
  const probe = () => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
    if (probing) setImmediate().then(probe)
  }
  probe()
  for (let i = 0; i < 10; i++) {
    const response = await pool.request({
      path: '/',
      method: 'POST',
      headers: { 'content-length': String(body.length) },
      body: mode === 'whole' ? body : Readable.from(slices(body), { objectMode: false }),
    })
    await response.body.text()
  }
  probing = false
  console.log(`${mode}: longest span of the loop ${longest.toFixed(1)} ms over 10 bodies`)
}
await pool.close()
await upstream.terminate()
