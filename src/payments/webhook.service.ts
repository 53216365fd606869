import type { WebhookEventRow } from '../../db/tables.ts'
import { nowSeconds } from '../lib/clock.ts'
import { DomainError } from '../lib/errors.ts'
import type { RateLimiter } from '../lib/rate-limit.ts'
import { notificationSchema } from '../yookassa/schemas.ts'
import { createSourceTrust } from '../yookassa/source-address.ts'
import { handleNotification } from './notification.service.ts'
import type { PaymentsDeps } from './payments-deps.ts'
import { storedNotificationBody } from './webhook-body.ts'
import { insertWebhookEvent, setWebhookOutcome } from './webhook-events.repo.ts'
import { checkWebhookSecret } from './webhook-secret.ts'

/** One notification as it arrived: who sent it, its secret, and its body (read only when needed). */
export interface WebhookDelivery {
  /** The socket peer; undefined without a socket (app.request() in tests: never trusted). */
  socketAddress: string | undefined
  forwardedFor: string | undefined
  querySecret: string | undefined
  signatureHeader: string | undefined
  /** The body as text, or null when it is longer than `maxBytes` (the reading stops there). */
  body(maxBytes: number): Promise<string | null>
}

/** The two budgets of the webhook, in this process's memory. */
export interface WebhookLimits {
  /** Per sender path (`Source.path`): every notification takes a token before anything else. */
  perSender: RateLimiter
  /** One bucket for every sender: each refusal stored takes a token; without one it is only counted. */
  rejectedStored: RateLimiter
}

/** The largest body read: YooKassa's notifications are a few KiB (metadata at most 16 x 512 characters). */
export const MAX_NOTIFICATION_BYTES = 64 * 1024

/**
 * A YooKassa notification (POST /api/v1/billing/webhook/yookassa, public:
 * YooKassa sends no Bearer token). Three checks, as docs/reference/API.md says: sender address (403), the gateway's
 * own secret when configured (401), then the object is read back by GET and
 * only that answer counts. The sender is judged before a byte of the body is
 * read, and the body is read up to MAX_NOTIFICATION_BYTES (413 past it). Every
 * notification within its sender's rate (429 past it, nothing stored) is
 * stored first, the kept fields only (webhook-body.ts), refusals within one
 * bound for all senders, and pruned after yookassa.webhookEventRetentionDays;
 * 200 means "recorded or deliberately ignored", 500 means "deliver it again".
 */
export async function receiveWebhook(
  deps: Pick<
    PaymentsDeps,
    | 'clock'
    | 'config'
    | 'database'
    | 'defaultPlan'
    | 'entitlements'
    | 'ids'
    | 'logger'
    | 'metrics'
    | 'secrets'
    | 'yookassa'
  >,
  limits: WebhookLimits,
  delivery: WebhookDelivery,
): Promise<void> {
  const trust = createSourceTrust({
    trustedIps: deps.config.yookassa.trustedIps,
    trustProxy: deps.config.server.trustProxy,
  })
  const sender = trust.source(delivery.socketAddress, delivery.forwardedFor)
  const sourceIp = sender.address
  // Before the body is read or anything stored: a flood costs a map lookup per request.
  // Keyed by the whole path, so no hop can spend the budget of a path it is not on.
  if (!limits.perSender.take(sender.path)) {
    deps.metrics.webhookEvents.inc({ event: 'other', outcome: 'rate_limited' })
    deps.logger.debug({ sourceIp }, 'webhook refused: over the per-address rate')
    const retryAfter = Math.ceil(60 / deps.config.yookassa.webhookRatePerMinute)
    throw new DomainError('rate_limit_exceeded', 'Too many notifications from this address', {
      retryAfterSeconds: retryAfter,
    })
  }
  const unread = {
    id: deps.ids.next(),
    event: 'unread',
    object_id: null,
    source_ip: sourceIp,
    body: '',
    received_at: nowSeconds(deps.clock),
  }
  if (!sourceIp || !trust.isTrusted(sourceIp)) {
    // Not a byte of the body is read: a stranger's 10 MiB costs nothing but this answer.
    await reject(deps, limits, unread, 'untrusted source')
    deps.logger.warn(
      { webhookEventId: unread.id, sourceIp },
      'webhook rejected: sender outside YOOKASSA_TRUSTED_IPS',
    )
    throw new DomainError('forbidden_source', 'Notifications are accepted from YooKassa only')
  }
  const raw = await delivery.body(MAX_NOTIFICATION_BYTES)
  if (raw === null) {
    await reject(deps, limits, unread, 'body too large')
    deps.logger.warn({ webhookEventId: unread.id, sourceIp }, 'webhook rejected: body too large')
    throw new DomainError('payload_too_large', 'A notification is 64 KiB at most')
  }
  const parsed = parseNotification(raw)
  const event = {
    ...unread,
    event: parsed.kind === 'ok' ? parsed.event : 'unparsed',
    object_id: parsed.kind === 'ok' ? parsed.objectId : null,
    body: parsed.kind === 'invalid_json' ? '' : storedNotificationBody(parsed.json),
  }
  const log = deps.logger.child({
    webhookEventId: event.id,
    event: event.event,
    objectId: event.object_id,
  })

  const secret = checkWebhookSecret({
    secret: deps.secrets.yookassaWebhookSecret,
    querySecret: delivery.querySecret,
    signatureHeader: delivery.signatureHeader,
    rawBody: raw,
  })
  if (secret === 'missing' || secret === 'wrong') {
    await reject(deps, limits, event, `${secret} secret`)
    log.warn({ sourceIp }, `webhook rejected: ${secret} secret`)
    throw new DomainError('invalid_webhook_secret', 'Missing or wrong webhook secret')
  }

  // Recorded before acting: a crash after this point leaves an audit row, and the
  // redelivery (or the reconciliation job) finishes the work.
  await insertWebhookEvent(deps.database.db, { ...event, outcome: 'received' })
  const finish = async (outcome: string) => {
    await setWebhookOutcome(deps.database.db, event.id, outcome)
    deps.metrics.webhookEvents.inc({
      event: deps.metrics.webhookEventLabel(event.event),
      outcome: outcome.split(':')[0]!,
    })
  }
  if (parsed.kind === 'invalid_json') {
    await finish('rejected: malformed JSON')
    log.warn('webhook rejected: malformed JSON')
    throw new DomainError('invalid_json', 'Malformed JSON body')
  }
  if (parsed.kind === 'not_notification' || !deps.yookassa) {
    const why = deps.yookassa ? 'not a notification' : 'billing not configured'
    await finish(`ignored: ${why}`)
    log.warn(`webhook ignored: ${why}`)
    if (!deps.yookassa) throw new DomainError('billing_not_configured', 'Billing is not configured')
    return
  }

  let result: Awaited<ReturnType<typeof handleNotification>>
  try {
    result = await handleNotification(deps, deps.yookassa, parsed)
  } catch (error) {
    log.error({ err: error }, 'webhook failed, answering 500 so YooKassa delivers it again')
    await finish(`failed: ${(error as Error).message}`).catch(() => {})
    throw new DomainError('internal_error', 'Notification not processed, deliver it again', {
      cause: error,
    })
  }
  await finish(result.outcome)
  log.info({ outcome: result.outcome }, `webhook ${event.event} ${result.outcome}`)
}

/** Stored characters of a notification refused for its secret (accepted ones: 16 KiB). */
const REJECTED_BODY_CHARS = 1_024

type Parsed =
  | { kind: 'ok'; event: string; objectId: string; json: unknown }
  | { kind: 'invalid_json' }
  | { kind: 'not_notification'; json: unknown }

function parseNotification(raw: string): Parsed {
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    return { kind: 'invalid_json' }
  }
  const result = notificationSchema.safeParse(json)
  if (!result.success) return { kind: 'not_notification', json }
  const { event, object } = result.data
  return { kind: 'ok', event: event.slice(0, 100), objectId: object.id, json }
}

/**
 * Stores a refusal while the bucket shared by all senders has a token, else only counts it:
 * how fast refusals can grow the table does not depend on how many addresses send them.
 */
async function reject(
  deps: Pick<PaymentsDeps, 'database' | 'logger' | 'metrics'>,
  limits: WebhookLimits,
  event: Omit<WebhookEventRow, 'outcome'>,
  why: string,
) {
  const label = deps.metrics.webhookEventLabel(event.event)
  if (!limits.rejectedStored.take('all')) {
    deps.metrics.webhookEvents.inc({ event: label, outcome: 'rejected_unstored' })
    return
  }
  try {
    const body = event.body.slice(0, REJECTED_BODY_CHARS)
    await insertWebhookEvent(deps.database.db, { ...event, body, outcome: `rejected: ${why}` })
  } catch (error) {
    deps.logger.error({ err: error }, 'webhook rejection could not be recorded')
  }
  deps.metrics.webhookEvents.inc({ event: label, outcome: 'rejected' })
}
