import type { Entitlement } from '../../billing/entitlements.ts'
import type { MediaEstimate } from '../estimate/media-estimate.ts'
import type { ReadRequest } from '../request/proxy-request.ts'
import type { AdmitDeps } from './admit.ts'
import { entitle } from './entitle.ts'
import { checkModel } from './model-check.ts'
import { type Admission, reserveAsked } from './reserve.ts'

/**
 * The user's plan (402 without one) and its grant of the model (403), checked
 * before the body is estimated: reading an audio file's duration costs more
 * than a refusal.
 */
export async function entitleMedia(
  user: ReadRequest['user'],
  model: string,
  deps: Pick<AdmitDeps, 'config' | 'entitlements'>,
): Promise<Entitlement> {
  const entitlement = await entitle(user, deps)
  checkModel(deps.config, entitlement, model)
  return entitlement
}

/**
 * The media routes' admission, as admit() does it for text, once the plan
 * grants the model (entitleMedia): one request and the estimate, weighed as
 * the settle will weigh it, reserved in one atomic step (429 when short).
 * Nothing goes upstream before this returns.
 */
export function admitMedia(
  request: Pick<ReadRequest, 'requestId' | 'headers'>,
  entitlement: Entitlement,
  model: string,
  estimate: MediaEstimate,
  deps: AdmitDeps,
): Promise<Admission> {
  return reserveAsked(
    request,
    {
      entitlement,
      model,
      inputEstimate: estimate.input,
      surchargeTokens: 0,
      outputAsked: estimate.output,
    },
    deps,
  )
}
