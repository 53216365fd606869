import ipaddr from 'ipaddr.js'

type Address = ipaddr.IPv4 | ipaddr.IPv6

/**
 * Who sent a notification, and may they. YooKassa does not sign v3
 * notifications, so the sender address is one of the three checks
 * (docs/reference/API.md, Webhook). X-Forwarded-For is read only as far as TRUST_PROXY says:
 * - false: the socket peer, the header is ignored (anyone can write it);
 * - a hop count n: n proxies in front of us each appended the address they
 *   saw, so the client is n entries left of the socket peer;
 * - true: every hop in a private, loopback, link-local or unique-local
 *   network is our proxy; the client is the right-most hop that is not.
 *   Never the left-most entry: that one is whatever the sender wrote.
 */
export interface SourceTrust {
  /** The client address to judge, or null when the chain holds garbage. */
  clientAddress(socketAddress: string | undefined, forwardedFor: string | undefined): string | null
  isTrusted(address: string): boolean
}

const PROXY_RANGES = new Set(['private', 'loopback', 'linkLocal', 'uniqueLocal', 'carrierGradeNat'])

export function createSourceTrust(options: {
  trustedIps: readonly string[]
  trustProxy: boolean | number
}): SourceTrust {
  const ranges = options.trustedIps.map(parseRange)
  return {
    clientAddress(socketAddress, forwardedFor) {
      const peer = socketAddress ? parseAddress(socketAddress) : null
      if (!peer) return null
      if (options.trustProxy === false || options.trustProxy === 0 || !forwardedFor) {
        return peer.toString()
      }
      const hops = forwardedFor.split(',').map((hop) => parseAddress(hop))
      const chain = [...hops, peer]
      if (options.trustProxy === true) {
        for (let i = chain.length - 1; i >= 0; i--) {
          const hop = chain[i]
          if (!hop) return null
          if (!PROXY_RANGES.has(hop.range()) || i === 0) return hop.toString()
        }
        return null
      }
      const index = Math.max(0, chain.length - 1 - options.trustProxy)
      // Every hop we walk over must be an address, or the chain cannot be trusted.
      if (chain.slice(index).some((hop) => hop === null)) return null
      return chain[index]!.toString()
    },
    isTrusted(address) {
      const parsed = parseAddress(address)
      if (!parsed) return false
      return ranges.some(
        ([base, bits]) => base.kind() === parsed.kind() && parsed.match(base, bits),
      )
    },
  }
}

/** A CIDR, or a bare address meaning just that host. Throws on garbage: a config error. */
export function parseRange(text: string): [Address, number] {
  const trimmed = text.trim()
  if (trimmed.includes('/')) {
    if (!ipaddr.isValidCIDR(trimmed)) throw new Error(`not a CIDR range: ${text}`)
    const [base, bits] = ipaddr.parseCIDR(trimmed)
    return [normalise(base), base.kind() === 'ipv6' && isMapped(base) ? bits - 96 : bits]
  }
  const address = parseAddress(trimmed)
  if (!address) throw new Error(`not an IP address: ${text}`)
  return [address, address.kind() === 'ipv4' ? 32 : 128]
}

/**
 * Strict parsing: four-part dotted IPv4 or IPv6, optionally bracketed or
 * with a port as proxies sometimes write it; IPv4-mapped IPv6 (the socket
 * form of an IPv4 peer on a dual-stack listener) becomes plain IPv4.
 */
function parseAddress(raw: string): Address | null {
  let text = raw.trim()
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text)
  if (bracketed) text = bracketed[1]!
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(text)
  if (v4WithPort) text = v4WithPort[1]!
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text)
  if (ipaddr.IPv6.isValid(text)) return normalise(ipaddr.IPv6.parse(text))
  return null
}

function normalise(address: Address): Address {
  return address.kind() === 'ipv6' && isMapped(address)
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address
}

function isMapped(address: Address): boolean {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
}
