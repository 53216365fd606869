import { zValidator } from '@hono/zod-validator'
import type { ZodType } from 'zod'
import { validationError } from './errors.ts'

/** Where a validator's schema is kept for the OpenAPI document (src/routes/openapi/document.ts). */
export const VALIDATED = Symbol('validated')

export interface Validated {
  target: 'json' | 'query' | 'param'
  schema: ZodType
}

/**
 * zod validation with the gateway's envelope: a bad body is a 400 naming each
 * bad field. Malformed JSON never reaches the schema (Hono throws, onError answers 400).
 * The middleware carries its schema, so /openapi.json describes exactly what is validated.
 */
export function validate<T extends ZodType, Target extends 'json' | 'query' | 'param'>(
  target: Target,
  schema: T,
) {
  const middleware = zValidator(target, schema, (result) => {
    if (!result.success) throw validationError(result.error as never)
  })
  return Object.assign(middleware, { [VALIDATED]: { target, schema } satisfies Validated })
}
