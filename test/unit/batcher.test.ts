import { describe, expect, it } from 'vitest'
import { createBatcher } from '../../src/ledger/batcher.ts'

/** createBatcher with plain functions: what its callers (ledger/store.ts) rely on. */
describe('createBatcher', () => {
  function recording(failAll: (items: number[]) => boolean) {
    const calls: string[] = []
    const submit = createBatcher<number, number>({
      all: async (items) => {
        calls.push(`all ${items.join(',')}`)
        if (failAll(items)) throw new Error('the batch failed')
        return items.map((n) => n * 10)
      },
      one: async (n) => {
        calls.push(`one ${n}`)
        if (n < 0) throw new Error(`bad ${n}`)
        return n * 10
      },
    })
    return { calls, submit }
  }

  it('runs the calls of one event-loop turn as one batch, each getting its own result', async () => {
    const { calls, submit } = recording(() => false)
    expect(await Promise.all([submit(1), submit(2), submit(3)])).toEqual([10, 20, 30])
    expect(await submit(4)).toBe(40)
    expect(calls, 'a later call is a batch of its own, run alone').toEqual(['all 1,2,3', 'one 4'])
  })

  it('retries every item alone when the batch fails; a bad item rejects only its own caller', async () => {
    const { calls, submit } = recording((items) => items.some((n) => n < 0))
    const results = await Promise.allSettled([submit(1), submit(-2), submit(3)])
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected'))).toEqual([
      10,
      'rejected',
      30,
    ])
    expect(calls).toEqual(['all 1,-2,3', 'one 1', 'one -2', 'one 3'])
  })

  it('keeps one batch in flight: what arrives meanwhile waits and goes out together after it', async () => {
    const calls: string[] = []
    let release = () => {}
    const submit = createBatcher<number, number>({
      all: async (items) => {
        calls.push(`all ${items.join(',')}`)
        if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve))
        return items
      },
      one: async (n) => {
        calls.push(`one ${n}`)
        return n
      },
    })
    const first = Promise.all([submit(1), submit(2)])
    await new Promise((resolve) => setImmediate(resolve))
    expect(calls).toEqual(['all 1,2'])
    const later = [submit(3)]
    await new Promise((resolve) => setImmediate(resolve))
    later.push(submit(4), submit(5))
    await new Promise((resolve) => setImmediate(resolve))
    expect(calls, 'nothing more is written while the first batch is in flight').toEqual(['all 1,2'])
    release()
    expect(await first).toEqual([1, 2])
    expect(await Promise.all(later)).toEqual([3, 4, 5])
    expect(calls).toEqual(['all 1,2', 'all 3,4,5'])
  })
})
