import { isResting } from './key-health.ts'
import type { Candidate, Route } from './routes.ts'

/**
 * The next candidate to try, or null when none is left: among the untried ones whose key is
 * not resting, those of the lowest priority, one drawn by its deployment's weight (the keys of
 * one deployment share its weight). A route of one candidate always tries it, resting or not:
 * with nothing to fail over to, refusing without asking would only turn a blip into an outage
 * (LiteLLM does the same for a model group of one deployment).
 *
 * A pure function of the route, what was tried, the time and a random source, so any route
 * family (Chat Completions, Responses, Messages) can call it.
 */
export function pickNext(
  route: Route,
  tried: ReadonlySet<Candidate>,
  now: number,
  random: () => number,
): Candidate | null {
  const { candidates } = route
  if (candidates.length === 1) {
    const only = candidates[0]!
    return tried.has(only) ? null : only
  }
  let priority = Number.POSITIVE_INFINITY
  const open: Candidate[] = []
  for (const candidate of candidates) {
    if (tried.has(candidate) || isResting(candidate.key.health, now)) continue
    const p = candidate.deployment.priority
    if (p > priority) continue
    if (p < priority) {
      priority = p
      open.length = 0
    }
    open.push(candidate)
  }
  if (open.length <= 1) return open[0] ?? null
  // Weights are recomputed over the open set: a deployment with one key resting keeps its share.
  let total = 0
  for (const candidate of open) total += shareOf(candidate, open)
  let draw = random() * total
  for (const candidate of open) {
    draw -= shareOf(candidate, open)
    if (draw < 0) return candidate
  }
  return open.at(-1)!
}

/** The deployment's weight split over its keys that are open. */
function shareOf(candidate: Candidate, open: readonly Candidate[]): number {
  let keys = 0
  for (const other of open) if (other.deployment === candidate.deployment) keys++
  return candidate.deployment.weight / keys
}

/**
 * Whether every candidate is resting now, and the soonest end of a rest that is a cooldown
 * (rate limit or failure), for a Retry-After; null when only refused keys rest (no wait helps).
 */
export function soonestRecovery(route: Route, now: number): number | null {
  let soonest: number | null = null
  for (const { key } of route.candidates) {
    const { health } = key
    if (!isResting(health, now)) return null
    if (health.reason !== 'refused' && (soonest === null || health.restUntil < soonest))
      soonest = health.restUntil
  }
  return soonest
}
