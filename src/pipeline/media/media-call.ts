import type { Amounts } from '../../ledger/amounts.ts'
import type { AdmitDeps } from '../admission/admit.ts'
import type { MediaEstimate } from '../estimate/media-estimate.ts'
import type { PipelineDeps } from '../pipeline-deps.ts'
import type { ClientRequest } from '../request/proxy-request.ts'
import { quotaHeaders } from '../stream/respond.ts'
import type { UpstreamResponse } from '../upstream/forward.ts'
import { clientResponseHeaders } from '../upstream/headers.ts'
import type { AdmittedCall } from '../upstream/send-admitted.ts'
import type { MediaRequest, MediaRoute } from './media-request.ts'

/** What the media walk calls, all stages together. */
export type MediaDeps = AdmitDeps & Pick<PipelineDeps, 'actingUsers' | 'upstreams'>

/** One media call in flight: what each of its endings needs. */
export interface MediaCall extends AdmittedCall {
  client: ClientRequest
  deps: MediaDeps
  route: MediaRoute
  request: MediaRequest
  estimate: MediaEstimate
}

/** The answer's headers: the upstream's allowed ones, the quota left, the gateway's request id. */
export function headersOf(
  call: MediaCall,
  response: UpstreamResponse,
  credited: Amounts | null,
): Record<string, string> {
  const headers = quotaHeaders(call.admission, credited, clientResponseHeaders(response.headers))
  headers['x-request-id'] = call.client.requestId
  return headers
}
