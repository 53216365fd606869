import { describe, expect, it } from 'vitest'
import {
  BUDGET_MS,
  INLINE_MS,
  inlineAllowance,
  spendInline,
} from '../../src/pipeline/estimate/inline-budget.ts'
import { countOffLoop } from '../../src/pipeline/estimate/token-pool.ts'
import { countFrom, tokenizerForModel } from '../../src/pipeline/estimate/tokenizer.ts'

/*
 * Each user's inline counting per second (src/pipeline/estimate/inline-budget.ts):
 * past it, a prompt is counted in the worker, with the same result.
 */
describe('inline counting budget', () => {
  it("gives each prompt INLINE_MS until the user's second has spent BUDGET_MS, then none", () => {
    const at = 1_000_000
    expect(inlineAllowance('budget-a', at)).toBe(INLINE_MS)
    spendInline('budget-a', BUDGET_MS - 0.5, at)
    expect(inlineAllowance('budget-a', at + 10)).toBe(0.5)
    spendInline('budget-a', 0.5, at + 10)
    expect(inlineAllowance('budget-a', at + 20)).toBe(0)
    // Another user's budget is their own; the next second starts afresh.
    expect(inlineAllowance('budget-b', at + 20)).toBe(INLINE_MS)
    expect(inlineAllowance('budget-a', at + 1000)).toBe(INLINE_MS)
  })

  it('counts a prompt past the budget in the worker, to the same count', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(200)
    const tokenizer = tokenizerForModel('gpt-4o-mini')
    const exact = countFrom(tokenizer.count, text, 0, Number.POSITIVE_INFINITY).tokens
    spendInline('budget-c', BUDGET_MS)
    expect(inlineAllowance('budget-c')).toBe(0)
    expect(await countOffLoop('budget-c', 'gpt-4o-mini', text)).toBe(exact)
  })
})
