import type { Generated, Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely'

/**
 * The Kysely view of the database, snake_case like the tables.
 * Conventions: timestamps are integer epoch seconds; money is integer minor
 * units (kopecks); booleans are integers 0/1 (the same on SQLite and PostgreSQL);
 * JSON columns are text.
 */
export interface DB {
  gateway_user: GatewayUserTable
  gateway_api_key: ApiKeyTable
  billing_plan: PlanTable
  billing_subscription: SubscriptionTable
  billing_quota_counter: QuotaCounterTable
  billing_reservation: ReservationTable
  billing_usage: UsageTable
  billing_usage_daily: UsageDailyTable
  billing_usage_rollup: UsageRollupTable
  billing_transaction: TransactionTable
  billing_webhook_event: WebhookEventTable
  gateway_instance: InstanceTable
  web_sign_in_link: SignInLinkTable
  web_session: WebSessionTable
  stored_object: StoredObjectTable
  promo_code: PromoCodeTable
  promo_redemption: PromoRedemptionTable
  outbox_event: OutboxEventTable
  exchange_rate: ExchangeRateTable
  console_audit: ConsoleAuditTable
  request_refusal: RequestRefusalTable
  gateway_setting: GatewaySettingTable
  billing_rate_window: RateWindowTable
  billing_rate_window_hold: RateWindowHoldTable
  billing_pack: PackTable
  billing_pack_holding: PackHoldingTable
  billing_pack_entry: PackEntryTable
  billing_pack_reservation: PackReservationTable
}

/** A handle repos accept: the database itself or an open transaction, so one query serves both. */
export type Db = Kysely<DB> | Transaction<DB>

export interface GatewayUserTable {
  id: string
  email: string | null
  role: string
  created_at: number
  last_seen_at: number
  /** Set by an operator (0010): the user's keys, tokens and sessions are refused until cleared. */
  disabled_at: Generated<number | null>
}

export interface ApiKeyTable {
  id: string
  user_id: string
  name: string
  /** SHA-256 of the key, hex; the key itself is shown once and never stored. */
  key_hash: string
  /** The first characters of the key, to tell keys apart in a list. */
  key_prefix: string
  created_at: number
  last_used_at: number | null
  revoked_at: number | null
  /** 1: an admin credential (created by an admin with `"admin": true`); 0: the owner as a user. */
  is_admin: Generated<number>
  /** 1: may act for the end user the request names (trusted service key, docs/open-webui.md). */
  acts_for_users: Generated<number>
  /** Epoch seconds after which the key is refused (401); null: no expiry. */
  expires_at: number | null
}

export interface PlanTable {
  id: string
  name: string
  name_ru: string | null
  description: string | null
  description_ru: string | null
  /** Kopecks. */
  price: number
  currency: string
  interval: 'day' | 'week' | 'month' | 'year'
  /** JSON {tokens_input, tokens_output, requests}: a missing or null metric is unlimited. */
  quotas: string
  /** JSON array of feature names. */
  features: string
  is_active: number
  display_order: number
  created_at: number
  updated_at: number
}

export type SubscriptionStatus = 'active' | 'past_due' | 'canceled' | 'expired'

export interface SubscriptionTable {
  id: string
  user_id: string
  plan_id: string
  status: SubscriptionStatus
  current_period_start: number
  current_period_end: number
  /** The moment periods are counted from, so a plan started on Jan 31 renews on Feb 28, then Mar 31. */
  period_anchor: number
  /**
   * End of the time paid for (paid plans; null on free ones). Quota periods keep
   * rolling monthly (or per the plan's interval) until it is reached, so two
   * payments buy two periods with a full quota each.
   */
  paid_until: number | null
  cancel_at_period_end: number
  auto_renew: number
  payment_method_id: string | null
  /** When a past_due subscription falls back to the default plan. */
  grace_until: number | null
  /** Bumped by every update: the optimistic-concurrency guard (see updateSubscriptionIf). */
  version: number
  /**
   * The plan's quotas (JSON) as they were when an operator changed them "from the next
   * period" (0010): in force while current_period_start = kept_quotas_period, then ignored.
   */
  kept_quotas: Generated<string | null>
  kept_quotas_period: Generated<number | null>
  created_at: number
  updated_at: number
}

export type Metric = 'requests' | 'tokens_input' | 'tokens_output'

/** A period's counters (migration 0018): one row per (subscription, period), each metric's used and reserved. */
export interface QuotaCounterTable {
  subscription_id: string
  period_start: number
  requests_used: Generated<number>
  requests_reserved: Generated<number>
  tokens_input_used: Generated<number>
  tokens_input_reserved: Generated<number>
  tokens_output_used: Generated<number>
  tokens_output_reserved: Generated<number>
  /**
   * What the latest reservation added to tokens_output_reserved. A capped
   * reservation adds min(asked, what remained); writing that amount here lets
   * the one UPDATE that reserves report it through RETURNING (requests and
   * tokens_input are always reserved as asked).
   */
  tokens_output_last_reserved: Generated<number>
  updated_at: number
}

export interface ReservationTable {
  request_id: string
  user_id: string
  subscription_id: string
  period_start: number
  requests: number
  tokens_input: number
  tokens_output: number
  model_id: string | null
  chat_id: string | null
  created_at: number
  /** The gateway process (gateway_instance.id) serving the request; null on rows older than 0002. */
  owner: string | null
  /** When the request was sent upstream; null = never sent (released, not billed, after a crash). */
  sent_at: number | null
}

/** One row per gateway process, beating while it lives: whose reservations are still in flight. */
export interface InstanceTable {
  /** Random at each start. */
  id: string
  started_at: number
  heartbeat_at: number
  /**
   * The address the process listens on (host name, socket) while it holds it: its successor
   * on that address takes over its reservations (src/ledger/lineage.ts). Null otherwise.
   */
  name: string | null
}

/**
 * One row per settle (0011): a request's usage, its metrics as columns, and a late
 * settle's correction (possibly negative) as a row of its own.
 */
export interface UsageTable {
  /** UUIDv7: the rollup walks the rows in id order. */
  id: string
  user_id: string
  subscription_id: string | null
  model_id: string | null
  chat_id: string | null
  request_id: string | null
  /** 1 when the tokens were counted by the gateway's tokenizer (no usage from the upstream, or swept). */
  estimated: number
  created_at: number
  /** What counted against the quota per metric: tokens x the model's weights (ceil). */
  requests: number
  tokens_input: number
  tokens_output: number
  /** The tokens the upstream reported; null on sweeper estimates and rows older than 0005. */
  raw_input: number | null
  raw_output: number | null
  /** Upstream cost of the raw tokens in micro-units of config priceCurrency; null = no price. */
  cost_input_micros: number | null
  cost_output_micros: number | null
  /** The token classes within raw_input (docs/metering.md); 0 when not reported. */
  cached_input: Generated<number>
  cache_write: Generated<number>
  audio_input: Generated<number>
  /** The classes within raw_output. */
  reasoning: Generated<number>
  audio_output: Generated<number>
  /** Image tokens, within either direction. */
  image_tokens: Generated<number>
  /** The HTTP status of the answer (0016); null before 0016, on sweeper estimates and late corrections. */
  status: Generated<number | null>
  /** Ms from the reservation to the settle (0016); null where status is. */
  latency_ms: Generated<number | null>
}

/**
 * billing_usage summed per user, UTC day, plan, model and metric (0006; one row per metric
 * whatever billing_usage's shape): what the
 * history reads for rows already rolled up, and all that is left of rows past the retention.
 */
export interface UsageDailyTable {
  user_id: string
  /** Epoch seconds of the UTC day's start. */
  day: number
  /** The plan of the rows' subscription; '' without one (a key column takes no null on PostgreSQL). */
  plan_id: string
  /** '' when the usage rows had none. */
  model_id: string
  metric: Metric
  amount: number
  /** Sum of raw_amount, nulls (unknown) as 0. */
  raw_amount: number
  /** Sum of cost_micros, nulls as 0. */
  cost_micros: number
  /** The newest created_at rolled in. */
  last_at: number
}

/** The rollup's progress, one row named 'usage' (0006); ids are billing_usage ids (UUIDv7). */
export interface UsageRollupTable {
  name: string
  /** Every billing_usage row with id <= this is in billing_usage_daily ('' = none yet). */
  rolled_through: string
  /** Where the prune scan of `prune_day` stopped. */
  pruned_through: string
  prune_day: number
  /** No raw row created at or after this was ever pruned. */
  complete_since: number
  updated_at: number
}

export type TransactionStatus =
  | 'pending'
  | 'waiting_for_capture'
  | 'succeeded'
  | 'canceled'
  | 'refunded'

export interface TransactionTable {
  id: string
  user_id: string
  plan_id: string | null
  kind: 'payment' | 'renewal' | 'refund'
  /** Kopecks. */
  amount: number
  currency: string
  status: TransactionStatus
  provider: string
  provider_payment_id: string | null
  /** The Idempotence-Key of the YooKassa call that created it, stored before the call. */
  idempotence_key: string | null
  description: string | null
  /** JSON object: cancellation reason, refund ids, period, test flag... */
  metadata: string
  refunded_amount: number
  /** A refund row: the payment transaction it refunds. */
  parent_id: string | null
  /** The prepaid pack this payment buys (0019); null: it buys (or renews) plan_id. */
  pack_id: string | null
  created_at: number
  updated_at: number
}

export interface WebhookEventTable {
  id: string
  event: string
  object_id: string | null
  source_ip: string | null
  /** The raw notification body, for audit. */
  body: string
  /** applied | ignored | rejected | failed, and why. */
  outcome: string
  received_at: number
}

/** A one-time sign-in link of the pages: single use, short expiry, SHA-256 of the token only. */
export interface SignInLinkTable {
  token_hash: string
  user_id: string
  created_at: number
  expires_at: number
  used_at: number | null
}

/** A browser session of the pages (HttpOnly cookie); SHA-256 of the cookie's token only. */
export interface WebSessionTable {
  token_hash: string
  user_id: string
  created_at: number
  expires_at: number
}

export type UserRow = Selectable<GatewayUserTable>
export type ApiKeyRow = Selectable<ApiKeyTable>
export type PlanRow = Selectable<PlanTable>
export type NewPlanRow = Insertable<PlanTable>
export type PlanUpdate = Updateable<PlanTable>
export type SubscriptionRow = Selectable<SubscriptionTable>
export type QuotaCounterRow = Selectable<QuotaCounterTable>
export type ReservationRow = Selectable<ReservationTable>
export type UsageRow = Selectable<UsageTable>
export type TransactionRow = Selectable<TransactionTable>
export type WebhookEventRow = Selectable<WebhookEventTable>
export type InstanceRow = Selectable<InstanceTable>

/**
 * An object the upstream stores in the operator's account, bound to the user it was made
 * for (0007): a request naming it is refused for anyone else (src/pipeline/stored/stored-objects.ts).
 */
export interface StoredObjectTable {
  /** The upstream's id: resp_..., msg_..., audio_..., cntr_... */
  id: string
  user_id: string
  created_at: number
}

export type PromoKind = 'plan_days' | 'discount' | 'pack'

export interface PromoCodeTable {
  id: string
  /** SHA-256 (hex) of the normalised code: the code itself is never stored. */
  code_hash: string
  /** The code's last characters, to tell codes apart in the console. */
  hint: string
  label: string
  kind: PromoKind
  plan_id: string | null
  /** The prepaid pack a `pack` code grants (0021). */
  pack_id: string | null
  days: number | null
  percent_off: number | null
  /** null: unlimited. */
  max_uses: number | null
  uses: Generated<number>
  expires_at: number | null
  disabled_at: number | null
  created_by: string
  created_at: number
}

export interface PromoRedemptionTable {
  id: string
  code_id: string
  user_id: string
  redeemed_at: number
  /** A discount's checkout transaction, while one holds it. */
  transaction_id: string | null
  /** When the discounted payment succeeded (or the days were granted). */
  spent_at: number | null
}

export type PromoCodeRow = Selectable<PromoCodeTable>
export type PromoRedemptionRow = Selectable<PromoRedemptionTable>
/** An outgoing webhook waiting for, or done with, its delivery (migration 0010). */
export interface OutboxEventTable {
  id: string
  type: string
  audience: 'user' | 'operator'
  dedupe_key: string | null
  body: string
  created_at: number
  attempts: Generated<number>
  next_attempt_at: number
  claimed_until: number | null
  delivered_at: number | null
  failed_at: number | null
  last_status: number | null
  last_error: string | null
}

export type OutboxEventRow = Selectable<OutboxEventTable>
/** An admin-set exchange rate from a UTC date on (margin report): shop currency per price-currency unit. */
export interface ExchangeRateTable {
  currency: string
  /** Epoch seconds, a UTC midnight. */
  valid_from: number
  /** Units of `currency` per unit of the price currency, in millionths (92.5 -> 92_500_000). */
  rate_micros: number
  created_at: number
  created_by: string | null
}
/** One action taken in the operator's console (0010): who, what, on whom, before and after. */
export interface ConsoleAuditTable {
  /** UUIDv7. */
  id: string
  actor_id: string
  /** grant | refund | plan_create | plan_edit | plan_active | plan_default | key_create | key_revoke | user_disable | user_enable */
  action: string
  target_user_id: string | null
  /** A plan id, key id or transaction id. */
  subject: string | null
  /** JSON text, or null when there was nothing before (or after). */
  before: string | null
  after: string | null
  created_at: number
}

export type ConsoleAuditRow = Selectable<ConsoleAuditTable>

/**
 * A request refused at admission (0016): 402, 403, 429 with the error's code and message, for
 * the console's last requests. Capped per user per minute (ledger/refusal-log.ts); pruned with
 * the usage rows (usage.retentionDays).
 */
export interface RequestRefusalTable {
  /** UUIDv7. */
  id: string
  user_id: string
  request_id: string | null
  model_id: string | null
  status: number
  code: string
  message: string
  created_at: number
}

/**
 * A setting the operator changes at run time (0020), one row per key:
 * `default_plan_id` (src/billing/default-plan.ts). Seeded from the configuration at start.
 */
export interface GatewaySettingTable {
  key: string
  value: string
  updated_at: number
}

/** One rate window's counter (0017): a plan's requests or tokens per minute or per day. */
export interface RateWindowTable {
  subscription_id: string
  /** requests_per_minute, tokens_per_minute, requests_per_day, tokens_per_day. */
  kind: string
  /** Epoch seconds: the minute's start, or the day's start in the plan's time zone. */
  window_start: number
  window_end: number
  /** The limit the last reservation was checked against. */
  window_limit: number
  used: Generated<number>
  reserved: Generated<number>
  updated_at: number
}

/** What one reservation holds in one rate window (0017): moved by its settle or release. */
export interface RateWindowHoldTable {
  request_id: string
  kind: string
  subscription_id: string
  window_start: number
  /** 1 in a requests window; the weighted tokens asked in a tokens window. */
  held: number
}

/** A prepaid pack on sale (0019): an amount of one metric, a price, a validity. */
export interface PackTable {
  id: string
  name: string
  name_ru: string | null
  metric: 'requests' | 'tokens_input' | 'tokens_output'
  amount: number
  /** Kopecks. */
  price: number
  currency: string
  validity_days: number
  is_active: number
  display_order: number
  created_at: number
  updated_at: number
}

export type PackRow = Selectable<PackTable>

/** A pack a user holds (0019): `remaining` is the sum of its entries, `reserved` what requests in flight hold. */
export interface PackHoldingTable {
  id: string
  user_id: string
  pack_id: string
  metric: 'requests' | 'tokens_input' | 'tokens_output'
  /** The units credited. */
  amount: number
  /** Kopecks paid (0 for a pack granted without payment). */
  price: number
  currency: string
  /** The payment that bought it: unique, so a payment credits at most one pack. */
  transaction_id: string | null
  remaining: number
  reserved: number
  valid_until: number
  /** Set when the pack stops being spendable before its expiry (a refund). */
  closed_at: number | null
  closed_reason: 'refund' | 'expiry' | null
  created_at: number
}

export type PackHoldingRow = Selectable<PackHoldingTable>

/** The append-only ledger of packs (0019): amounts signed, their sum per holding is its `remaining`. */
export interface PackEntryTable {
  id: string
  holding_id: string
  user_id: string
  kind: 'credit' | 'spend' | 'refund' | 'expiry'
  amount: number
  /** A spend: the request it paid for. */
  request_id: string | null
  created_at: number
}

export type PackEntryRow = Selectable<PackEntryTable>

/** A request in flight funded by a pack (0019), ended once as billing_reservation is. */
export interface PackReservationTable {
  request_id: string
  holding_id: string
  user_id: string
  metric: 'requests' | 'tokens_input' | 'tokens_output'
  amount: number
  owner: string | null
  sent_at: number | null
  created_at: number
}
