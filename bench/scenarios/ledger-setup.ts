import type { Database } from '../../db/client.ts'
import { upsertUser } from '../../src/auth/users.repo.ts'
import { grantSubscription } from '../../src/billing/admin-subscriptions.service.ts'
import type { Entitlement } from '../../src/billing/entitlements.ts'
import { createDeps } from '../../src/boot.ts'
import { loadConfig } from '../../src/config/load.ts'
import type { Deps } from '../../src/deps.ts'
import type { LedgerStore } from '../../src/ledger/store.ts'
import { createLogger } from '../../src/lib/logger.ts'

/** What one request of the in-process ledger benches reserves, and what it settles. */
export const ASK = { requests: 1, tokens_input: 12, tokens_output: 256 }
export const ACTUAL = { requests: 1, tokens_input: 14, tokens_output: 9 }

/**
 * The gateway's deps on a migrated `database`, with the given ledger, and user u1 on an
 * unlimited plan: what the in-process ledger benches (ledger-micro.ts, ledger-turns.ts) reserve
 * and settle against, through the gateway's own functions.
 */
export async function benchUser(
  database: Database,
  ledgerFor: (database: Database) => LedgerStore,
): Promise<{ deps: Deps; entitlement: Entitlement }> {
  const { config, secrets } = loadConfig({
    file: {
      plans: [{ id: 'unlimited', name: 'Unlimited', price: 0, quotas: null }],
      // Unlimited means unlimited in flight too (the schema's default is 8).
      quota: { defaultMaxConcurrentRequests: null },
    },
    env: {},
  })
  const base = createDeps({ config, secrets, database, logger: createLogger('silent') })
  const deps: Deps = { ...base, ledger: ledgerFor(database) }
  const now = Math.floor(Date.now() / 1000)
  await database.db
    .insertInto('billing_plan')
    .values({
      ...{ id: 'unlimited', name: 'Unlimited', name_ru: null, description: null },
      ...{ description_ru: null, price: 0, currency: 'RUB', interval: 'month', quotas: '{}' },
      ...{ features: '[]', is_active: 1, display_order: 0, created_at: now, updated_at: now },
    })
    .execute()
  await upsertUser(database.db, { id: 'u1', email: null, role: 'user', now })
  await grantSubscription(deps, { userId: 'u1', planId: 'unlimited', periods: 1 })
  const entitlement = await deps.entitlements.get('u1')
  if (!entitlement) throw new Error('no entitlement')
  return { deps, entitlement }
}
