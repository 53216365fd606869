import { SignJWT } from 'jose'
import type { Secrets } from '../config/load.ts'

/** Mints an HS256 user token with JWT_SECRET, for a first try and for scripts. */
export async function mintToken(
  secrets: Secrets,
  options: { sub?: string; role?: string; email?: string; ttl?: string },
): Promise<string> {
  if (!secrets.jwtSecret) throw new Error('JWT_SECRET is not set')
  if (!options.sub) throw new Error('--sub is required')
  const ttl = Number(options.ttl ?? 3600)
  if (!Number.isInteger(ttl) || ttl <= 0)
    throw new Error('--ttl must be a positive number of seconds')
  const claims: Record<string, string> = {}
  if (options.role) claims.role = options.role
  if (options.email) claims.email = options.email
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(`${ttl}s`)
    .sign(new TextEncoder().encode(secrets.jwtSecret))
}
