import { describe, expect, it } from 'vitest'
import { clientResponseHeaders, upstreamRequestHeaders } from '../../src/pipeline/headers.ts'

describe('headers across the proxy', () => {
  it("upstream gets the client's headers minus credentials and hop-by-hop ones, plus its own key", () => {
    const incoming = new Headers({
      authorization: 'Bearer user-token',
      'x-api-key': 'user-key',
      cookie: 'session=1',
      'content-type': 'application/json',
      'openai-beta': 'assistants=v2',
      'x-stainless-lang': 'js',
      connection: 'keep-alive, x-hop',
      'x-hop': 'drop me',
      'keep-alive': 'timeout=5',
      'accept-encoding': 'gzip, br',
      host: 'gateway.example',
    })
    expect(upstreamRequestHeaders(incoming, 'Bearer sk-upstream')).toEqual({
      'content-type': 'application/json',
      'openai-beta': 'assistants=v2',
      'x-stainless-lang': 'js',
      'accept-encoding': 'identity',
      authorization: 'Bearer sk-upstream',
    })
  })

  it("the client gets the upstream's headers minus hop-by-hop ones and the operator's account", () => {
    const upstream = {
      'content-type': 'text/event-stream',
      'transfer-encoding': 'chunked',
      connection: 'keep-alive',
      'set-cookie': ['__cf_bm=1', 'x=2'],
      'openai-organization': 'org-secret',
      'openai-project': 'proj_1',
      'x-ratelimit-remaining-requests': '99',
      'x-request-id': 'req_upstream',
      'content-length': '10',
    }
    expect(clientResponseHeaders(upstream)).toEqual({
      'content-type': 'text/event-stream',
      'x-ratelimit-remaining-requests': '99',
      'x-upstream-request-id': 'req_upstream',
    })
  })
})
