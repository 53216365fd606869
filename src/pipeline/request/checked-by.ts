import { z } from 'zod'

/**
 * A body field checked by a plain loop instead of a zod schema: zod walks a large array at
 * about 1 us an element (10,000 messages: 11 ms, near the 15 ms of parsing their JSON), the
 * loop in 0.5 ms. `problem` names what is wrong (with the element's index) or returns null;
 * null and absent pass. Used by the OpenAI bodies' shape (body-shape.ts) and Anthropic's
 * (anthropic/messages-shape.ts).
 */
export function checkedBy(problem: (value: unknown) => string | null) {
  return z
    .unknown()
    .superRefine((value, context) => {
      if (value === null || value === undefined) return
      const message = problem(value)
      if (message !== null) context.addIssue({ code: 'custom', message })
    })
    .optional()
}
