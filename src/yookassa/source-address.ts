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
  /** The client address and the path it came by: see `Source`. */
  source(socketAddress: string | undefined, forwardedFor: string | undefined): Source
  isTrusted(address: string): boolean
}

/**
 * A sender as the socket and TRUST_PROXY show it. `path` is the client address followed by
 * every hop walked over to reach it, the socket peer last ("185.71.76.1,10.0.0.2"): what a
 * per-sender budget is keyed by. Two senders share a path only when every hop that wrote it
 * is the same, so a host that writes YooKassa's address into X-Forwarded-For, whether
 * through our proxy or around it, spends a budget of its own, never YooKassa's.
 */
export interface Source {
  address: string | null
  path: string
}

const PROXY_RANGES = new Set(['private', 'loopback', 'linkLocal', 'uniqueLocal', 'carrierGradeNat'])

export function createSourceTrust(options: {
  trustedIps: readonly string[]
  trustProxy: boolean | number
}): SourceTrust {
  const ranges = options.trustedIps.map(parseRange)
  const source = (socketAddress: string | undefined, forwardedFor: string | undefined): Source => {
    const peer = socketAddress ? parseAddress(socketAddress) : null
    if (!peer) return { address: null, path: 'unknown' }
    if (options.trustProxy === false || options.trustProxy === 0 || !forwardedFor) {
      return { address: peer.toString(), path: peer.toString() }
    }
    const chain = [...forwardedFor.split(',').map((hop) => parseAddress(hop)), peer]
    const { index, garbage } = walk(chain, options.trustProxy)
    const walked = chain.slice(index).map((hop) => hop?.toString() ?? 'garbage')
    return { address: garbage ? null : walked[0]!, path: walked.join(',') }
  }
  return {
    clientAddress: (socketAddress, forwardedFor) => source(socketAddress, forwardedFor).address,
    source,
    isTrusted(address) {
      const parsed = parseAddress(address)
      if (!parsed) return false
      return ranges.some(
        ([base, bits]) => base.kind() === parsed.kind() && parsed.match(base, bits),
      )
    },
  }
}

/**
 * Where the walk from the socket peer leftwards stops in the chain (X-Forwarded-For's hops,
 * then the peer): at the client, or at a hop that should be walked over but is not an
 * address (`garbage`: then no client can be told).
 */
function walk(
  chain: ReadonlyArray<Address | null>,
  trustProxy: true | number,
): { index: number; garbage: boolean } {
  const last = chain.length - 1
  const stop = trustProxy === true ? 0 : Math.max(0, last - trustProxy)
  for (let i = last; i >= stop; i--) {
    const hop = chain[i]
    if (!hop) return { index: i, garbage: true }
    if (trustProxy === true && !PROXY_RANGES.has(hop.range())) return { index: i, garbage: false }
  }
  return { index: stop, garbage: false }
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
