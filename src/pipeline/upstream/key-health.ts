/**
 * The health of one upstream key: whether it rests, why, until when, and what it did. The
 * state lives on the key itself (one object per configured key, shared by every route that
 * reaches it), so reading it on the request path costs a field access, not a lookup.
 *
 * A key rests after a failure and comes back by itself when the rest ends: the next request
 * that picks it is the probe (a success ends its failure streak, another failure rests it
 * again, twice as long, up to the bound). A key the upstream refused (its credentials or the
 * operator's credit) rests until the configured recheck, the operator having been alerted.
 */

/** Why an attempt on a key failed; `rate_limited` and `failing` rest it, `refused` takes it out. */
export type FailureKind =
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'connect'
  | 'auth'
  | 'credit'

export type RestReason = 'rate_limited' | 'failing' | 'refused'

export interface KeyHealth {
  /** Epoch ms until which the key is not picked (0: never rested). */
  restUntil: number
  reason: RestReason | null
  /** Failures in a row, for the doubling rest. */
  streak: number
  requests: number
  failures: Partial<Record<FailureKind, number>>
  rests: number
  latencyMsTotal: number
  answered: number
}

export function newKeyHealth(): KeyHealth {
  return {
    restUntil: 0,
    reason: null,
    streak: 0,
    requests: 0,
    failures: {},
    rests: 0,
    latencyMsTotal: 0,
    answered: 0,
  }
}

export interface RestPolicy {
  cooldownMs: number
  maxCooldownMs: number
  recheckMs: number
}

export function isResting(health: KeyHealth, now: number): boolean {
  return health.restUntil > now
}

/** An answer came (any status that is not the key's failure): the streak ends. */
export function recordAnswer(health: KeyHealth, latencyMs: number): void {
  health.requests++
  health.answered++
  health.latencyMsTotal += latencyMs
  health.streak = 0
  health.reason = null
}

/**
 * A failed attempt rests the key: as long as the upstream asked (retry-after), else the base
 * cooldown doubled per failure in a row, bounded either way; a refusal until the recheck.
 * Returns the rest in ms.
 */
export function recordFailure(
  health: KeyHealth,
  kind: FailureKind,
  now: number,
  policy: RestPolicy,
  retryAfterMs: number | null,
): number {
  health.requests++
  health.failures[kind] = (health.failures[kind] ?? 0) + 1
  // A failure long after the last rest ended starts a new streak: old troubles are forgotten.
  if (health.restUntil + policy.maxCooldownMs < now) health.streak = 0
  health.streak++
  const reason: RestReason =
    kind === 'auth' || kind === 'credit'
      ? 'refused'
      : kind === 'rate_limited'
        ? 'rate_limited'
        : 'failing'
  const rest =
    reason === 'refused'
      ? policy.recheckMs
      : Math.min(
          policy.maxCooldownMs,
          retryAfterMs ?? policy.cooldownMs * 2 ** Math.min(health.streak - 1, 16),
        )
  health.restUntil = now + rest
  health.reason = reason
  health.rests++
  return rest
}
