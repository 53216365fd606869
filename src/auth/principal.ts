/** Who is calling, as authenticate() found out. */
export interface Principal {
  userId: string
  email: string | null
  role: 'admin' | 'user'
  /**
   * How the caller proved it: a JWT, a gateway API key (with its id), a trusted
   * service key acting for the end user it named (userId is that user's), or a
   * session of the pages (/billing, /admin).
   */
  via:
    | { kind: 'jwt' }
    | { kind: 'api_key'; keyId: string; actsForUsers: boolean }
    | { kind: 'acting'; keyId: string; ownerId: string }
    | { kind: 'session' }
}
