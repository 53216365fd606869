import type { Principal } from '../../auth/principal.ts'
import type { Entitlement } from '../../billing/entitlements.ts'
import { GatewayError } from '../../http/errors.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'

/** The user's live plan, or 402: the first stage of admission, before any quota is read. */
export async function entitle(
  user: Pick<Principal, 'userId'>,
  deps: Pick<PipelineDeps, 'entitlements'>,
): Promise<Entitlement> {
  const entitlement = await deps.entitlements.get(user.userId)
  if (!entitlement) {
    throw new GatewayError(
      'no_subscription',
      'No active subscription: choose a plan to use the API',
    )
  }
  return entitlement
}
