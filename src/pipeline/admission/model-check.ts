import type { Entitlement } from '../../billing/entitlements.ts'
import { GatewayError } from '../../http/errors.ts'
import { isModelAllowed, type ModelGrants } from './model-access.ts'

/** 403 before anything is reserved when the plan's features do not grant the model. */
export function checkModel(grants: ModelGrants, entitlement: Entitlement, model: string): void {
  if (!isModelAllowed(grants, entitlement.plan.features, model)) {
    throw new GatewayError(
      'model_not_allowed',
      `The model '${model}' is not included in your plan (${entitlement.plan.id})`,
      { param: 'model' },
    )
  }
}
