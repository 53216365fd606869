import { globMatch } from './glob.ts'

/** Label of every model that no configured pattern matches. */
const OTHER_MODEL = 'other'

/** How many distinct model names keep their label memoised (past it the memo starts over). */
const MEMO_ENTRIES = 1_000

/**
 * The one way a model name becomes a metric label. The model comes from the
 * request, so it never is the label itself: the label is the most specific
 * configured pattern it matches (most literal characters; `gpt-4o-mini` before
 * `gpt-4*` before `*`), else `other`. The label set is the config's, bounded.
 */
export function createModelLabeler(patterns: readonly string[]): (model: string) => string {
  const literal = (p: string) => p.replaceAll('*', '').length
  const ordered = [...new Set(patterns)]
    .map((pattern) => ({ pattern, lower: pattern.toLowerCase() }))
    .sort((a, b) => literal(b.pattern) - literal(a.pattern))
  const memo = new Map<string, string>()
  return (model) => {
    const known = memo.get(model)
    if (known !== undefined) return known
    const lower = model.toLowerCase()
    const label = ordered.find((p) => globMatch(p.lower, lower))?.pattern ?? OTHER_MODEL
    if (memo.size >= MEMO_ENTRIES) memo.clear()
    memo.set(model, label)
    return label
  }
}
