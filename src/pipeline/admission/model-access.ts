import type { Config } from '../../config/schema.ts'
import { oncePerFrozen } from '../../lib/frozen-cache.ts'
import { compileGlob } from '../../lib/glob.ts'
/**
 * Model access is granted, never assumed (docs/access.md). Config `features`
 * maps a feature to model name patterns (src/lib/glob.ts: `*` within one part
 * of a name, `**` across parts, `#` a digit);
 * a plan may use a model when one of its features has a matching pattern, or
 * when config `openModels` (patterns open to every plan) matches it. Anything
 * else is refused, including names nobody thought of: a model the operator
 * never mapped must not reach the upstream on the operator's key.
 *
 * Matching ignores case: an upstream that accepts "GPT-4o" must not let the
 * spelling slip past a gate written as "gpt-4*".
 */
export interface ModelGrants {
  features: Readonly<Record<string, readonly string[]>>
  openModels: readonly string[]
}

export function isModelAllowed(
  grants: ModelGrants,
  planFeatures: readonly string[],
  model: string,
): boolean {
  if (grants.openModels.length > 0 && matchesAny(grants.openModels, model)) return true
  for (const feature of planFeatures) {
    const patterns = grants.features[feature]
    if (patterns && matchesAny(patterns, model)) return true
  }
  return false
}

/**
 * The names the gateway lets through: ASCII letters, digits and `. _ - : / @`,
 * starting with a letter or digit. That covers OpenAI's names (`gpt-4o-2024-08-06`,
 * `ft:gpt-4o-mini:org::id`), provider-prefixed ones (`openai/gpt-4o`,
 * `meta-llama/Llama-3.1-8B`) and Vertex-style `claude-3@20240229`, and leaves out
 * whitespace, control characters and non-ASCII look-alikes ("gрt-4o" with a
 * Cyrillic р), which an upstream may trim or fold into a name the gate never saw.
 */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,255}$/

/**
 * A model name the gateway checks and forwards (MODEL_NAME), and no path steps
 * in it: each `/`-separated part starts with a letter or digit (no `..`, `.`
 * or empty part) and no `..` anywhere. An upstream that puts the name in a URL
 * (a deployment path, a router) would resolve `gpt-3.5-turbo/../gpt-4o` to a
 * model the gate never saw.
 */
export function isModelName(name: string): boolean {
  return MODEL_NAME.test(name) && !name.includes('..') && !PATH_STEP.test(name)
}

const PATH_STEP = /\/(?![A-Za-z0-9])/

export const MODEL_NAME_RULE =
  'a model name: ASCII letters, digits and . _ - : / @, each part after a / starting with a letter or digit, no .., no spaces, at most 256'

export function matchesAny(patterns: readonly string[], name: string): boolean {
  const lower = name.toLowerCase()
  for (const matches of compiledPatterns(patterns)) if (matches(lower)) return true
  return false
}

/** Config's pattern lists, lower-cased and compiled once per list: each proxied request matches several. */
const compiledPatterns = oncePerFrozen((patterns: readonly string[]) =>
  patterns.map((pattern) => compileGlob(pattern.toLowerCase())),
)

/** The patterns metrics may use as model labels: `metrics.modelLabels`, else every feature's and the open models'. */
export function modelLabelPatterns(
  config: Pick<Config, 'metrics' | 'features' | 'openModels'>,
): string[] {
  return (
    config.metrics.modelLabels ?? [...Object.values(config.features).flat(), ...config.openModels]
  )
}
