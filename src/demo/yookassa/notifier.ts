import { request } from 'undici'
import type { Logger } from '../../lib/logger.ts'
import type { Json } from './wire.ts'

/**
 * Sends notifications to the gateway's webhook the way YooKassa does: a POST
 * of `{type: "notification", event, object}` from 127.0.0.1, delivered again
 * until it is answered 200 (YooKassa keeps trying for 24 hours; the sandbox
 * gives up after RETRY_DELAYS_MS). The first attempt is awaited, so the payer
 * returns to a gateway that already knows; retries run in the background.
 */
const RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 16_000]

export interface Notifier {
  send(notification: Json): Promise<void>
  /** Where notifications go; the demo sets it once the gateway listens. */
  setTarget(url: string): void
}

export function createNotifier(logger: Logger): Notifier {
  let target: string | null = null

  async function attempt(notification: Json): Promise<number | string> {
    if (!target) return 'no webhook URL yet'
    try {
      const response = await request(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(notification),
        signal: AbortSignal.timeout(10_000),
      })
      await response.body.dump()
      return response.statusCode
    } catch (error) {
      return (error as Error).message
    }
  }

  return {
    setTarget(url) {
      target = url
    },
    async send(notification) {
      const about = { event: notification.event, objectId: notification.object?.id }
      const first = await attempt(notification)
      logger.info({ ...about, answer: first }, `sandbox sent ${notification.event}`)
      if (first === 200) return
      void (async () => {
        for (const delay of RETRY_DELAYS_MS) {
          await new Promise((resolve) => setTimeout(resolve, delay).unref())
          const answer = await attempt(notification)
          logger.info({ ...about, answer }, `sandbox sent ${notification.event} again`)
          if (answer === 200) return
        }
        logger.warn(about, 'sandbox gave up delivering a notification')
      })()
    },
  }
}
