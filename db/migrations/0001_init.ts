import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.
// Types are the ones SQLite and PostgreSQL both take: text, integer, bigint.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('gateway_user')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text')
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('user'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('gateway_api_key')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('key_prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute()
  await db.schema
    .createIndex('gateway_api_key_user')
    .on('gateway_api_key')
    .column('user_id')
    .execute()

  await db.schema
    .createTable('billing_plan')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_ru', 'text')
    .addColumn('description', 'text')
    .addColumn('description_ru', 'text')
    .addColumn('price', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('interval', 'text', (c) => c.notNull())
    .addColumn('quotas', 'text', (c) => c.notNull())
    .addColumn('features', 'text', (c) => c.notNull())
    .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('display_order', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('billing_subscription')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('plan_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('current_period_start', 'bigint', (c) => c.notNull())
    .addColumn('current_period_end', 'bigint', (c) => c.notNull())
    .addColumn('period_anchor', 'bigint', (c) => c.notNull())
    .addColumn('paid_until', 'bigint')
    .addColumn('cancel_at_period_end', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('auto_renew', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('payment_method_id', 'text')
    .addColumn('grace_until', 'bigint')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  // One live subscription per user: the database, not the code, guarantees it.
  await db.schema
    .createIndex('billing_subscription_one_live')
    .on('billing_subscription')
    .column('user_id')
    .unique()
    .where(sql.ref('status'), 'in', sql`('active', 'past_due')`)
    .execute()
  await db.schema
    .createIndex('billing_subscription_user')
    .on('billing_subscription')
    .columns(['user_id', 'created_at'])
    .execute()
  await db.schema
    .createIndex('billing_subscription_period_end')
    .on('billing_subscription')
    .columns(['status', 'current_period_end'])
    .execute()

  await db.schema
    .createTable('billing_quota_counter')
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('period_start', 'bigint', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('used', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('reserved', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_reserved', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_quota_counter_pk', [
      'subscription_id',
      'period_start',
      'metric',
    ])
    .execute()

  await db.schema
    .createTable('billing_reservation')
    .addColumn('request_id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('period_start', 'bigint', (c) => c.notNull())
    .addColumn('requests', 'bigint', (c) => c.notNull())
    .addColumn('tokens_input', 'bigint', (c) => c.notNull())
    .addColumn('tokens_output', 'bigint', (c) => c.notNull())
    .addColumn('model_id', 'text')
    .addColumn('chat_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('billing_reservation_created')
    .on('billing_reservation')
    .column('created_at')
    .execute()

  await db.schema
    .createTable('billing_usage')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text')
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('model_id', 'text')
    .addColumn('chat_id', 'text')
    .addColumn('request_id', 'text')
    .addColumn('estimated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('billing_usage_user_created')
    .on('billing_usage')
    .columns(['user_id', 'created_at'])
    .execute()
  await db.schema
    .createIndex('billing_usage_request')
    .on('billing_usage')
    .column('request_id')
    .execute()

  await db.schema
    .createTable('billing_transaction')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('plan_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('provider_payment_id', 'text', (c) => c.unique())
    .addColumn('idempotence_key', 'text', (c) => c.unique())
    .addColumn('description', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('refunded_amount', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('parent_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('billing_transaction_user')
    .on('billing_transaction')
    .columns(['user_id', 'id'])
    .execute()
  await db.schema
    .createIndex('billing_transaction_status')
    .on('billing_transaction')
    .columns(['status', 'created_at'])
    .execute()
  await db.schema
    .createIndex('billing_transaction_parent')
    .on('billing_transaction')
    .column('parent_id')
    .execute()

  await db.schema
    .createTable('billing_webhook_event')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('object_id', 'text')
    .addColumn('source_ip', 'text')
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('billing_webhook_event_object')
    .on('billing_webhook_event')
    .column('object_id')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'billing_webhook_event',
    'billing_transaction',
    'billing_usage',
    'billing_reservation',
    'billing_quota_counter',
    'billing_subscription',
    'billing_plan',
    'gateway_api_key',
    'gateway_user',
  ]) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
