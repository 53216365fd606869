import type { MiddlewareHandler } from 'hono'
import type { ZodObject, ZodType } from 'zod'

/** Where a route's description is kept for the OpenAPI document (document.ts). */
export const DESCRIBED = Symbol('described')

/** A response: its description, and the schema of its JSON body (or another media type's). */
export type ResponseDoc =
  | string
  | { description: string; json?: ZodType; content?: Record<string, ZodType | null> }

export interface RouteDoc {
  summary: string
  tag: Tag
  /** No credentials needed (security: []); otherwise a Bearer token, as the document's default. */
  public?: boolean
  /** Path parameters a route checks itself; a parameter not named here is a plain string. */
  params?: ZodObject
  /** Successes and documented refusals by status; every refusal is the error envelope. */
  responses: Record<string, ResponseDoc>
  /**
   * The request body's example ("Try it out" starts from it), and its schema for a route that
   * reads its body itself (the proxy: a loose object, unknown fields pass through). A route
   * with validate('json', ...) keeps that schema; only the example is added.
   */
  body?: { example: unknown; schema?: ZodType }
}

export const TAGS = {
  openai: 'OpenAI-compatible',
  anthropic: 'Anthropic Messages',
  billing: 'Billing',
  payments: 'Payments',
  admin: 'Admin',
  keys: 'API keys',
  ops: 'Operations',
} as const
export type Tag = keyof typeof TAGS

/**
 * Describes the route it is mounted on: the first middleware of the chain, it
 * only hands on (one call per request), and carries its RouteDoc for
 * /openapi.json. The request body and query come from the route's own
 * validate() middleware, never written twice.
 */
export function describe(doc: RouteDoc): MiddlewareHandler {
  const describeRoute: MiddlewareHandler = (_c, next) => next()
  return Object.assign(describeRoute, { [DESCRIBED]: doc })
}

/**
 * describe() for the hot routes: the RouteDoc rides on the route's handler itself, so
 * the chain has no extra middleware (each one a promise and a dispatch per request).
 * document.ts reads it off the handler all the same. A handler already described
 * (mounted twice) is wrapped instead, so that each route keeps its own doc.
 */
// biome-ignore lint/suspicious/noExplicitAny: any handler signature; the type passes through.
export function described<H extends (...args: any[]) => unknown>(doc: RouteDoc, handler: H): H {
  const target: H = DESCRIBED in handler ? (((...args) => handler(...args)) as H) : handler
  return Object.assign(target, { [DESCRIBED]: doc })
}
