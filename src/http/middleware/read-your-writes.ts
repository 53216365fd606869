import type { MiddlewareHandler } from 'hono'
import { OWN_SETTLES_WAIT_MS } from '../../lib/pending-writes.ts'
import type { AppEnv } from '../env.ts'

/**
 * Before a read of the caller's usage or subscription: waits (bounded) for the
 * caller's settles this process is still writing, since the proxy answers
 * before it settles (pipeline/settle/settle.ts). A client that reads its usage right
 * after an answer from this replica sees it exact; one that asks another
 * replica may miss a settle still in flight there for a few ms
 * (docs/billing-integrity.md). Costs nothing when none is pending.
 */
export function readYourWrites(): MiddlewareHandler<AppEnv> {
  return async function readYourWrites(c, next) {
    const { pendingSettles } = c.get('deps')
    const userId = c.get('principal')?.userId
    if (userId && pendingSettles.has(userId)) {
      await pendingSettles.settled(userId, OWN_SETTLES_WAIT_MS)
    }
    await next()
  }
}
