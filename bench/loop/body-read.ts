import { PerformanceObserver } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'

/*
 * `tsx bench/loop/body-read.ts`: what reading a large body costs the event loop,
 * in isolation, for the two ways of handing it to the counting worker
 * (src/pipeline/request/read-body.ts): `join` copies each socket chunk into one
 * buffer of the body's length and moves that; `chunks` keeps the chunks and
 * moves them. 60 bodies of 10 MiB in 64 KiB chunks (what Node's HTTP parser
 * hands over, each a copy of its own), read at a pace, beside a live heap of
 * 200,000 map entries (the tokenizers' tables are the gateway's) and some
 * short-lived garbage. Prints the loop's CPU and its collections.
 */
const CHUNK = 64 * 1024
const CHUNKS_A_BODY = 160
const BODIES = 60

async function run(mode: 'join' | 'chunks') {
  const worker = new Worker("require('node:worker_threads').parentPort.on('message', () => {})", {
    eval: true,
  })
  const gcs = { minor: 0, major: 0, ms: 0 }
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail: { kind: number } }).detail.kind
      if (kind === 1) gcs.minor++
      if (kind === 4) gcs.major++
      gcs.ms += entry.duration
    }
  })
  observer.observe({ entryTypes: ['gc'] })
  const live = new Map<string, number>()
  for (let i = 0; i < 200_000; i++) live.set(`piece${i}`, i)
  let garbage: object[] = []
  const cpu = process.cpuUsage()
  for (let body = 0; body < BODIES; body++) {
    const chunks: Buffer[] = []
    let joined: Buffer | null = null
    for (let i = 0; i < CHUNKS_A_BODY; i++) {
      const chunk = Buffer.allocUnsafeSlow(CHUNK).fill(i)
      for (let k = 0; k < 40; k++) garbage.push({ k, text: `x${k}` })
      if (garbage.length > 20_000) garbage = []
      if (mode === 'join') {
        joined ??= Buffer.allocUnsafeSlow(CHUNK * CHUNKS_A_BODY)
        chunk.copy(joined, i * CHUNK)
      } else chunks.push(chunk)
      // The read is paced: the body lives a while, as an upload does.
      if (i % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
    }
    const moved = joined ? [joined] : chunks
    worker.postMessage(
      moved,
      moved.map((b) => b.buffer as ArrayBuffer),
    )
    // The bytes handed back to send upstream.
    Buffer.allocUnsafeSlow(CHUNK * CHUNKS_A_BODY)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const used = process.cpuUsage(cpu)
  observer.disconnect()
  await worker.terminate()
  const cpuMs = Math.round((used.user + used.system) / 1000)
  console.log(
    `${mode}: loop CPU ${cpuMs} ms, ${gcs.minor} scavenges, ${gcs.major} major, GC ${Math.round(gcs.ms)} ms`,
  )
}

for (let round = 0; round < 2; round++) {
  await run('join')
  await run('chunks')
}
