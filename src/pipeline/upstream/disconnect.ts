import type { Config } from '../../config/schema.ts'
import { matchesAny } from '../admission/model-access.ts'
import type { ClientGone } from '../request/client-gone.ts'

/**
 * What a client that leaves does to the upstream call (docs/billing-integrity.md).
 * Once the request went upstream it is billed whatever happens; the policy
 * only decides how much of the upstream's work the gateway waits to see:
 *
 * - cancel: the upstream call is aborted at once; billed: the request, the
 *   input, the output delivered.
 * - drain (disconnectPolicy `drain`, or a model of `drainModels`: reasoning
 *   models, whose hidden output only the upstream's usage tells): the upstream
 *   is read on, at most drainTimeoutMs after the client left, and its usage
 *   is billed; past the bound the output reserve is, since the model may have
 *   spent it unseen.
 */
export interface UpstreamLink {
  /** For undici: aborts when the client leaves (cancel) or drainTimeoutMs later (drain). */
  signal: ClientGone
  /** How long to read on after the client left, or null: not at all (cancel). */
  drainTimeoutMs: number | null
  /** The drain bound passed before the upstream finished. */
  readonly drainTimedOut: boolean
}

type QuotaConfig = Pick<Config['quota'], 'disconnectPolicy' | 'drainModels' | 'drainTimeoutMs'>

export function linkUpstream(
  quota: QuotaConfig,
  model: string,
  clientGone: ClientGone,
): UpstreamLink {
  const drain = quota.disconnectPolicy === 'drain' || matchesAny(quota.drainModels, model)
  // Cancel costs nothing per request: undici gets the client's own signal.
  if (!drain) return { signal: clientGone, drainTimeoutMs: null, drainTimedOut: false }
  const controller = new AbortController()
  let timedOut = false
  const startBound = () => {
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort(new Error('The drain after a client disconnect timed out'))
    }, quota.drainTimeoutMs)
    timer.unref()
  }
  if (clientGone.aborted) startBound()
  else clientGone.addEventListener('abort', startBound, { once: true })
  return {
    signal: controller.signal,
    drainTimeoutMs: quota.drainTimeoutMs,
    get drainTimedOut() {
      return timedOut
    },
  }
}

/**
 * Output tokens to bill for a request whose client left, when the upstream
 * gave no usage: what was counted (delivered, or read while draining), or the
 * output reserve when a drain was cut short (hidden output unknown).
 */
export function outputAfterDisconnect(
  link: UpstreamLink,
  counted: number,
  drainComplete: boolean | null,
  outputReserve: number,
): number {
  const cutShort = link.drainTimeoutMs !== null && (drainComplete === false || link.drainTimedOut)
  return cutShort ? Math.max(counted, outputReserve) : counted
}
