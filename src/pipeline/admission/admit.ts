import { inputToReserve } from '../estimate/input-reserve.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import { refuseTooManyAnswers } from '../request/answers.ts'
import type { ReadRequest } from '../request/proxy-request.ts'
import { grantExtras, refuseBackground } from '../request/request-policy.ts'
import { checkStoredReferences } from '../stored/stored-objects.ts'
import { refuseBeforeCounting } from './early-refusal.ts'
import { entitle } from './entitle.ts'
import { checkModel } from './model-check.ts'
import { type Admission, reserveQuota } from './reserve.ts'

export { refuseBeforeReading } from './early-refusal.ts'
export type { Admission } from './reserve.ts'

export type AdmitDeps = Pick<
  PipelineDeps,
  | 'clock'
  | 'config'
  | 'database'
  | 'entitlements'
  | 'ids'
  | 'instance'
  | 'ledger'
  | 'logger'
  | 'metrics'
  | 'pendingSettles'
  | 'softLimitsSeen'
>

/** Bodies over this are checked against the counters before their prompt is counted. */
const PRECHECK_BYTES = 16 * 1024

/**
 * Admission, its stages in order: what the body asks (no background, answers, extras the
 * plan grants, stored objects the user owns) -> entitle (402) -> model check (403) -> an
 * early refusal from the counters for a body worth counting (429) -> the prompt's estimate
 * -> reserve (429, or the Admission). Nothing is reserved unless every stage let it through.
 */
export async function admit(request: ReadRequest, deps: AdmitDeps): Promise<Admission> {
  const { parsed } = request
  const { endpoint } = request.route
  refuseBackground(parsed.body)
  refuseTooManyAnswers(endpoint, parsed.body, deps.config.quota.maxAnswersPerRequest)
  const entitlement = await entitle(request.user, deps)
  const model = parsed.body.model
  checkModel(deps.config, entitlement, model)
  const surchargeTokens = grantExtras(deps.config, entitlement.plan, parsed.body)
  await checkStoredReferences(deps, entitlement.userId, endpoint, parsed)
  // A large body was checked before it was read (refuseBeforeReading); a medium one is, before it is counted.
  if (!parsed.offLoop && parsed.raw.length > PRECHECK_BYTES) {
    await refuseBeforeCounting(entitlement, deps)
  }
  const inputEstimate = await inputToReserve(
    deps.config,
    entitlement.plan,
    entitlement.userId,
    endpoint,
    parsed,
  )
  return reserveQuota(request, { entitlement, model, inputEstimate, surchargeTokens }, deps)
}
