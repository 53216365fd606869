import type { ReserveResult } from '../../src/ledger/service.ts'

export type Outcome = { ok?: boolean; reason?: string; error?: string }

const WAVE = 5
const PAUSE_MS = 3

/**
 * Waits until the shared wall-clock instant `startAt`, then fires the calls in
 * small concurrent waves with short pauses, so two threads that start together
 * stay interleaved for the whole run instead of one finishing before the
 * other is scheduled (a 2-core machine under load delays a thread by ms).
 */
export async function pacedReservations(
  startAt: number,
  requestIds: string[],
  call: (requestId: string) => Promise<ReserveResult>,
): Promise<Outcome[]> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())))
  const outcomes: Outcome[] = []
  for (let i = 0; i < requestIds.length; i += WAVE) {
    const wave = await Promise.allSettled(requestIds.slice(i, i + WAVE).map(call))
    for (const r of wave) {
      if (r.status === 'rejected') outcomes.push({ error: String(r.reason) })
      else outcomes.push(r.value.ok ? { ok: true } : { ok: false, reason: r.value.reason })
    }
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS))
  }
  return outcomes
}
