import type { Kysely } from 'kysely'

// Frozen in time: this file never imports application code and never changes once released.

/**
 * A promo code may grant a prepaid pack (kind `pack`): the pack it names is
 * credited to the redeeming user, at no price, in the redemption's transaction.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('promo_code').addColumn('pack_id', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('promo_code').dropColumn('pack_id').execute()
}
