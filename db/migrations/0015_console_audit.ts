import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * The operator's console records every action it takes (who, what, on whom,
 * the state before and after), and an operator may disable a user: a disabled
 * user's keys, tokens and sessions are refused (403) until enabled again.
 * A plan's quota edit may spare its subscribers' current period: each live
 * subscription keeps the quotas it had (kept_quotas) for the period that was
 * current (kept_quotas_period); from its next period the plan's own apply.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('gateway_user').addColumn('disabled_at', 'bigint').execute()
  await db.schema.alterTable('billing_subscription').addColumn('kept_quotas', 'text').execute()
  await db.schema
    .alterTable('billing_subscription')
    .addColumn('kept_quotas_period', 'bigint')
    .execute()
  await db.schema
    .createTable('console_audit')
    // UUIDv7: newest first by id.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('actor_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    // The user the action changed; null for actions on plans.
    .addColumn('target_user_id', 'text')
    // What it changed: a plan id, a key id, a transaction id.
    .addColumn('subject', 'text')
    // JSON of the state before and after (never a secret: keys appear by id and prefix only).
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('console_audit_target')
    .on('console_audit')
    .columns(['target_user_id', 'id'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('console_audit').ifExists().execute()
  await db.schema.alterTable('gateway_user').dropColumn('disabled_at').execute()
  await db.schema.alterTable('billing_subscription').dropColumn('kept_quotas_period').execute()
  await db.schema.alterTable('billing_subscription').dropColumn('kept_quotas').execute()
}
