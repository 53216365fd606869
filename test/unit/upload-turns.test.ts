import { describe, expect, it } from 'vitest'
import { READ_BYTES_PER_SECOND, uploadTurn } from '../../src/pipeline/request/upload-turns.ts'

/*
 * The pace of one user's large uploads (src/pipeline/request/upload-turns.ts):
 * on loopback a body arrives far faster than the pace, so only the turn itself
 * can show it (test/integration/proxy.upload-turns.test.ts has the turns over HTTP).
 */
describe('upload turns', () => {
  it('holds a reader that is ahead of the per-user rate until the rate catches up', async () => {
    const turn = await uploadTurn('pace-user')
    const start = performance.now()
    for (let i = 0; i < 8; i++) await turn.pace(256 * 1024)
    const took = performance.now() - start
    turn.end()
    // 2 MiB at the rate (8 MiB/s: a quarter of a second); timers may only fire late, never early.
    expect(took).toBeGreaterThanOrEqual(((2 * 1024 * 1024) / READ_BYTES_PER_SECOND) * 1000 - 2)
  })

  it('does not hold a reader that keeps under the rate', async () => {
    const turn = await uploadTurn('slow-user')
    await new Promise((resolve) => setTimeout(resolve, 50))
    const start = performance.now()
    await turn.pace(64 * 1024)
    expect(performance.now() - start).toBeLessThan(20)
    turn.end()
  })

  it("gives the user's next waiting reader the turn when one ends", async () => {
    const first = await uploadTurn('queue-user')
    let second = false
    const next = uploadTurn('queue-user').then((turn) => {
      second = true
      return turn
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(second).toBe(false)
    first.end()
    ;(await next).end()
    expect(second).toBe(true)
  })
})
