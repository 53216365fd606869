import { describe, expect, it } from 'vitest'
import { headersFromRaw } from '../../src/http/request-headers.ts'

/** What @hono/node-server's Headers would answer for the same rawHeaders (its newHeadersFromIncoming). */
function asHeaders(raw: string[]): Headers {
  const pairs: [string, string][] = []
  for (let i = 0; i < raw.length; i += 2)
    if (!raw[i]!.startsWith(':')) pairs.push([raw[i]!, raw[i + 1]!])
  return new Headers(pairs)
}

describe('headersFromRaw: the request path reads headers as Headers would', () => {
  const raw = [
    ':authority',
    'gateway.test',
    'Host',
    'gateway.test',
    'Authorization',
    'Bearer first',
    'authorization',
    'Bearer second',
    'Content-Type',
    ' application/json\t',
    'X-Request-Id',
    'abc',
    'Cookie',
    'a=1',
    'cookie',
    'b=2',
    'Accept',
    '\u00a0text/plain\u00a0',
    'X-Empty',
    '',
    'X-Chat-Id',
    'one',
    'x-chat-id',
    'two',
    'x-chat-id',
    'three',
  ]
  const names = [
    'host',
    'authorization',
    'AUTHORIZATION',
    'content-type',
    'x-request-id',
    'cookie',
    'accept',
    'x-empty',
    'x-chat-id',
    'x-missing',
    ':authority',
  ]

  it('answers every name exactly as the WHATWG Headers over the same request', () => {
    const ours = headersFromRaw(raw)
    const theirs = asHeaders(raw)
    for (const name of names) {
      const expected = name.startsWith(':') ? null : theirs.get(name)
      expect([name, ours.get(name)]).toEqual([name, expected])
    }
  })

  it('joins a repeated header (a duplicated Authorization never passes as one token)', () => {
    const ours = headersFromRaw(raw)
    expect(ours.get('authorization')).toBe('Bearer first, Bearer second')
    expect(ours.get('cookie')).toBe('a=1; b=2')
    expect(ours.get('content-type')).toBe('application/json')
    expect(ours.get('accept')).toBe('\u00a0text/plain\u00a0')
  })
})
