import { expect } from 'vitest'
import { INPUT_QUOTA } from './compat-fixture.ts'

/** The header that asks for the quota left in the answer. */
export const IN_BAND = { 'x-gateway-quota': 'include' }

/**
 * The in-band report of a request billed `input` and `output` on the compat
 * plan, after `before` earlier ones of the same user.
 */
export function expectReport(
  report: Record<string, any> | undefined,
  input: number,
  output: number,
  before = { requests: 0, input: 0, output: 0 },
) {
  expect(report, JSON.stringify(report)).toEqual({
    cost: { requests: 1, tokens_input: input, tokens_output: output },
    remaining: {
      requests: 1000 - 1 - before.requests,
      tokens_input: INPUT_QUOTA - input - before.input,
      tokens_output: 1_000_000 - output - before.output,
    },
    reset: expect.any(Number),
  })
}
