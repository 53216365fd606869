/**
 * Plan features grant models (API.md): config `features` maps a feature to
 * model name patterns (`*` matches any run of characters). A model that some
 * feature's patterns match needs one of those features in the plan; a model
 * no pattern matches is open to every plan.
 *
 * Matching ignores case: an upstream that accepts "GPT-4o" must not let the
 * spelling slip past a gate written as "gpt-4*".
 */
export function isModelAllowed(
  features: Readonly<Record<string, readonly string[]>>,
  planFeatures: readonly string[],
  model: string,
): boolean {
  let gated = false
  for (const feature in features) {
    if (!matchesAny(features[feature]!, model)) continue
    if (planFeatures.includes(feature)) return true
    gated = true
  }
  return !gated
}

export function matchesAny(patterns: readonly string[], name: string): boolean {
  const lower = name.toLowerCase()
  for (const pattern of patterns) if (globMatch(pattern.toLowerCase(), lower)) return true
  return false
}

/** `*`-only glob, no regex compiled per call: the pattern splits into literal parts matched in order. */
export function globMatch(pattern: string, name: string): boolean {
  const star = pattern.indexOf('*')
  if (star === -1) return pattern === name
  const parts = pattern.split('*')
  const first = parts[0]!
  const last = parts[parts.length - 1]!
  if (name.length < first.length + last.length) return false
  if (!name.startsWith(first) || !name.endsWith(last)) return false
  let at = first.length
  const end = name.length - last.length
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i]!
    const found = name.indexOf(part, at)
    if (found === -1 || found + part.length > end) return false
    at = found + part.length
  }
  return true
}
