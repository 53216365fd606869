import { describe, expect, it } from 'vitest'
import { createSourceTrust, parseRange } from '../../src/yookassa/source-address.ts'

const OFFICIAL = [
  '185.71.76.0/27',
  '185.71.77.0/27',
  '77.75.153.0/25',
  '77.75.156.11',
  '77.75.156.35/32',
  '77.75.154.128/25',
  '2a02:5180::/32',
]

describe('notification sender address', () => {
  it('matches IPv4 and IPv6 CIDRs, bare hosts, and IPv4-mapped socket addresses', () => {
    const trust = createSourceTrust({ trustedIps: OFFICIAL, trustProxy: false })
    expect(trust.isTrusted('185.71.76.31')).toBe(true)
    expect(trust.isTrusted('185.71.76.32')).toBe(false)
    expect(trust.isTrusted('77.75.156.11')).toBe(true)
    expect(trust.isTrusted('77.75.156.12')).toBe(false)
    expect(trust.isTrusted('2a02:5180:0:1509::1')).toBe(true)
    expect(trust.isTrusted('2a02:5181::1')).toBe(false)
    expect(trust.isTrusted('::ffff:185.71.77.5')).toBe(true)
    expect(trust.isTrusted('not-an-ip')).toBe(false)
    expect(trust.isTrusted('0xb9.71.76.1')).toBe(false)
  })

  it('ignores X-Forwarded-For unless TRUST_PROXY allows it', () => {
    const trust = createSourceTrust({ trustedIps: OFFICIAL, trustProxy: false })
    expect(trust.clientAddress('::ffff:10.0.0.2', '185.71.76.1')).toBe('10.0.0.2')
  })

  it('with a hop count takes the address that many hops left of the socket', () => {
    const trust = createSourceTrust({ trustedIps: OFFICIAL, trustProxy: 1 })
    expect(trust.clientAddress('10.0.0.2', '185.71.76.1')).toBe('185.71.76.1')
    // A sender writing its own XFF entry does not move the client one hop further.
    expect(trust.clientAddress('10.0.0.2', '185.71.76.1, 203.0.113.9')).toBe('203.0.113.9')
    expect(trust.clientAddress('10.0.0.2', undefined)).toBe('10.0.0.2')
    expect(trust.clientAddress('10.0.0.2', 'garbage')).toBeNull()
  })

  it('with true takes the right-most hop outside private networks, never the spoofable left-most', () => {
    const trust = createSourceTrust({ trustedIps: OFFICIAL, trustProxy: true })
    expect(trust.clientAddress('127.0.0.1', '185.71.76.1')).toBe('185.71.76.1')
    expect(trust.clientAddress('127.0.0.1', '185.71.76.1, 203.0.113.9, 10.1.1.1')).toBe(
      '203.0.113.9',
    )
    expect(trust.clientAddress('127.0.0.1', '[2a02:5180::7]:443, fd00::1')).toBe('2a02:5180::7')
    // A public peer is not our proxy: its header is ignored.
    expect(trust.clientAddress('203.0.113.9', '185.71.76.1')).toBe('203.0.113.9')
  })

  it('the path of a sender names every hop that wrote it, so no other sender shares it', () => {
    const trust = createSourceTrust({ trustedIps: OFFICIAL, trustProxy: true })
    // YooKassa through our proxy, and a private host that writes YooKassa's address itself.
    expect(trust.source('10.0.0.1', '185.71.76.1')).toEqual({
      address: '185.71.76.1',
      path: '185.71.76.1,10.0.0.1',
    })
    expect(trust.source('10.0.0.1', '185.71.76.1, 10.0.0.5')).toEqual({
      address: '185.71.76.1',
      path: '185.71.76.1,10.0.0.5,10.0.0.1',
    })
    expect(trust.source('10.0.0.5', '185.71.76.1').path).toBe('185.71.76.1,10.0.0.5')
    // What a sender writes left of its client address is not part of its path.
    expect(trust.source('10.0.0.1', '1.2.3.4, 203.0.113.9').path).toBe('203.0.113.9,10.0.0.1')
    expect(trust.source('10.0.0.1', 'garbage, 10.0.0.5')).toEqual({
      address: null,
      path: 'garbage,10.0.0.5,10.0.0.1',
    })
    const hops = createSourceTrust({ trustedIps: OFFICIAL, trustProxy: 1 })
    expect(hops.source('10.0.0.2', '185.71.76.1').path).toBe('185.71.76.1,10.0.0.2')
    expect(hops.source(undefined, '185.71.76.1')).toEqual({ address: null, path: 'unknown' })
  })

  it('rejects a configuration that is not an address or CIDR', () => {
    expect(() => parseRange('185.71.76.0/99')).toThrow(/CIDR/)
    expect(() => parseRange('yookassa.ru')).toThrow(/address/)
  })
})
