import { describe, expect, it } from 'vitest'
import {
  clientResponseHeaders,
  upstreamRequestHeaders,
} from '../../src/pipeline/upstream/headers.ts'

const incoming = () =>
  new Headers({
    authorization: 'Bearer user-token',
    'x-api-key': 'user-key',
    cookie: 'session=1',
    'content-type': 'application/json',
    accept: 'text/event-stream',
    'openai-beta': 'assistants=v2',
    'openai-organization': 'org-of-the-client',
    'openai-project': 'proj-of-the-client',
    forwarded: 'for=203.0.113.9;host=evil.example',
    'x-forwarded-host': 'evil.example',
    'x-stainless-lang': 'js',
    connection: 'keep-alive, x-hop',
    'accept-encoding': 'gzip, br',
    host: 'gateway.example',
  })

describe('headers across the proxy', () => {
  it('upstream gets content-type, accept, its configured headers and its own key; nothing else by default', () => {
    const policy = { authorization: 'Bearer sk-upstream', fixed: {}, fromClient: [] }
    expect(upstreamRequestHeaders(incoming(), policy)).toEqual({
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'accept-encoding': 'identity',
      authorization: 'Bearer sk-upstream',
    })
  })

  it('client headers the operator allowed pass, unless Connection names them; configured ones win', () => {
    const headers = incoming()
    const policy = {
      authorization: 'Bearer sk-upstream',
      fixed: { 'openai-organization': 'org-of-the-operator' },
      fromClient: ['openai-beta', 'openai-organization', 'x-hop'],
    }
    headers.set('x-hop', 'hop-by-hop')
    expect(upstreamRequestHeaders(headers, policy)).toEqual({
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'openai-beta': 'assistants=v2',
      'openai-organization': 'org-of-the-operator',
      'accept-encoding': 'identity',
      authorization: 'Bearer sk-upstream',
    })
  })

  it("the client gets the upstream's body headers, never the operator's account", () => {
    const upstream = {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'transfer-encoding': 'chunked',
      connection: 'keep-alive',
      'set-cookie': ['__cf_bm=1', 'x=2'],
      'openai-organization': 'org-secret',
      'openai-project': 'proj_1',
      'openai-processing-ms': '120',
      'x-ratelimit-remaining-requests': '99',
      'x-ratelimit-limit-tokens': '30000000',
      'cf-ray': '8f00-ARN',
      server: 'cloudflare',
      'x-request-id': 'req_upstream',
      'content-length': '10',
    }
    expect(clientResponseHeaders(upstream)).toEqual({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'openai-processing-ms': '120',
      'x-upstream-request-id': 'req_upstream',
    })
  })
})
