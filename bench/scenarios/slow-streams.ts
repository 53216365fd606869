import type { Driver } from '../load/driver-client.ts'
import type { BenchOptions } from '../options.ts'
import { openHeapProbe } from '../proc/heap-probe.ts'
import { rssBytes, sampleRss } from '../proc/stats.ts'
import type { Mock } from '../targets/mock.ts'
import { CHAT_PATH, type Target } from '../targets/target.ts'
import { bodies } from './payloads.ts'

export interface SlowSample {
  target: string
  streams: number
  opened: number
  failed: number
  firstError?: string
  /** Streams the mock saw open at once: less than `streams` means the proxy queued some. */
  upstreamOpen: number
  openMs: number
  rssBeforeMb: number
  /** Highest RSS while the streams were open (garbage included). */
  rssPeakMb: number
  /** RSS while open, after a full GC when the heap can be read (else the peak). */
  rssOpenMb: number
  /** (RSS open - RSS before) / streams, both read after a full GC when possible. */
  rssPerStreamKb: number
  rssAfterMb: number
  /** Live V8 heap after a full GC (null without an inspector port). */
  heapBeforeMb: number | null
  heapOpenMb: number | null
  heapAfterMb: number | null
  /** Heap still held after the streams ended, beyond the baseline. */
  heapRetainedMb: number | null
  completed: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const MB = 2 ** 20

/**
 * Holds `slowStreams` streams open through the target at once (the mock sends a chunk a second
 * until released) and reads the target's RSS and live heap before, while open and after they
 * end. One open stream costs (RSS open - RSS before) / streams; memory "returns" when the live
 * heap after a full GC is back near where it started (RSS stays up: V8 and malloc keep pages).
 */
export async function measureSlow(
  driver: Driver,
  mock: Mock,
  target: Target,
  options: BenchOptions,
): Promise<SlowSample> {
  const probe = target.inspectPort ? await openHeapProbe(target.inspectPort) : null
  try {
    await sleep(500)
    const heapBefore = probe ? await probe.usedAfterGc() : null
    const rssBefore = rssBytes(target.pid)
    const open = await driver.run({
      kind: 'slow-open',
      url: target.origin + CHAT_PATH,
      count: options.slowStreams,
      timeoutMs: 60_000,
      headers: target.headers,
      body: bodies.slow,
    })
    const upstreamOpen = (await mock.stats()).open_slow
    const sampler = sampleRss(target.pid, 100)
    await sleep(options.slowHoldMs)
    const rssPeak = sampler.stop()
    const heapOpen = probe ? await probe.usedAfterGc() : null
    // Both readings after a full GC: the growth is what the open streams hold, not garbage.
    const rssOpen = probe ? rssBytes(target.pid) : rssPeak
    await mock.release()
    const done = await driver.run({ kind: 'slow-wait', timeoutMs: 60_000 })
    await sleep(options.settleMs)
    const heapAfter = probe ? await probe.usedAfterGc() : null
    const rssAfter = rssBytes(target.pid)
    const mb = (bytes: number | null) => (bytes === null ? null : bytes / MB)
    return {
      target: target.name,
      streams: options.slowStreams,
      opened: open.opened,
      failed: open.failed,
      firstError: open.firstError,
      upstreamOpen,
      openMs: open.openMs,
      rssBeforeMb: rssBefore / MB,
      rssPeakMb: rssPeak / MB,
      rssOpenMb: rssOpen / MB,
      rssPerStreamKb: (rssOpen - rssBefore) / 1024 / Math.max(1, open.opened),
      rssAfterMb: rssAfter / MB,
      heapBeforeMb: mb(heapBefore),
      heapOpenMb: mb(heapOpen),
      heapAfterMb: mb(heapAfter),
      heapRetainedMb: heapAfter !== null && heapBefore !== null ? mb(heapAfter - heapBefore) : null,
      completed: done.completed,
    }
  } finally {
    probe?.close()
  }
}
