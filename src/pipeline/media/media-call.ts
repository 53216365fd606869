import type { Context } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import type { Amounts } from '../../ledger/amounts.ts'
import type { Admission } from '../admission/admit.ts'
import type { MediaEstimate } from '../estimate/media-estimate.ts'
import type { Outcome } from '../settle/settle.ts'
import type { ClientGone } from '../stream/client-io.ts'
import type { UpstreamLink } from '../stream/disconnect.ts'
import { quotaHeaders } from '../stream/respond.ts'
import type { UpstreamResponse } from '../upstream/forward.ts'
import { clientResponseHeaders } from '../upstream/headers.ts'
import type { Upstream } from '../upstream/upstreams.ts'
import type { MediaRequest, MediaRoute } from './media-request.ts'

/** One media call in flight: what each of its endings needs. */
export interface MediaCall {
  c: Context<AppEnv>
  route: MediaRoute
  request: MediaRequest
  estimate: MediaEstimate
  admission: Admission
  upstream: Upstream
  outcome: Outcome
  /** Aborts when the client goes away before its answer is complete. */
  clientGone: ClientGone
  link: UpstreamLink
}

/** The answer's headers: the upstream's allowed ones, the quota left, the gateway's request id. */
export function headersOf(
  call: MediaCall,
  response: UpstreamResponse,
  credited: Amounts | null,
): Record<string, string> {
  const headers = quotaHeaders(call.admission, credited, clientResponseHeaders(response.headers))
  headers['x-request-id'] = call.c.get('requestId')
  return headers
}
