import type { Db, UserRow } from '../../db/tables.ts'

/** Records a user on first sight and refreshes what their token says about them. */
export async function upsertUser(
  db: Db,
  user: { id: string; email: string | null; role: string; now: number },
): Promise<void> {
  await db
    .insertInto('gateway_user')
    .values({
      id: user.id,
      email: user.email,
      role: user.role,
      created_at: user.now,
      last_seen_at: user.now,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({ email: user.email, role: user.role, last_seen_at: user.now }),
    )
    .execute()
}

export async function findUser(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('gateway_user').selectAll().where('id', '=', id).executeTakeFirst()
}

/**
 * Records an end user a trusted service key names (docs/open-webui.md). A new
 * user is a plain user; an existing one keeps their role (a service key must
 * never demote or promote anyone) and their email, unless none was known.
 */
export async function upsertEndUser(
  db: Db,
  user: { id: string; email: string | null; now: number },
): Promise<void> {
  await db
    .insertInto('gateway_user')
    .values({
      id: user.id,
      email: user.email,
      role: 'user',
      created_at: user.now,
      last_seen_at: user.now,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        last_seen_at: user.now,
        email: eb.fn.coalesce('gateway_user.email', eb.ref('excluded.email')),
      })),
    )
    .execute()
}

/** When the user was disabled by an operator, null when enabled (or unknown). */
export async function findDisabledAt(db: Db, id: string): Promise<number | null> {
  const row = await db
    .selectFrom('gateway_user')
    .select('disabled_at')
    .where('id', '=', id)
    .executeTakeFirst()
  return row?.disabled_at == null ? null : Number(row.disabled_at)
}

/**
 * Disables (`at` a time) or enables (`at` null) a user; true when it changed
 * something. A user never seen yet is recorded, so disabling works before their first call.
 */
export async function setDisabledAt(
  db: Db,
  id: string,
  at: number | null,
  now: number,
): Promise<boolean> {
  await db
    .insertInto('gateway_user')
    .values({ id, email: null, role: 'user', created_at: now, last_seen_at: now })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
  const result = await db
    .updateTable('gateway_user')
    .set({ disabled_at: at })
    .where('id', '=', id)
    .where('disabled_at', at === null ? 'is not' : 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}
