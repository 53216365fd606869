import type { RouterRoute } from 'hono/types'
import { type ZodType, z } from 'zod'
import { VALIDATED, type Validated } from '../../http/validate.ts'
import { DESCRIBED, type ResponseDoc, type RouteDoc, TAGS } from './describe.ts'
import { COMPONENTS } from './schemas.ts'

/*
 * Why assembled here with zod 4's own z.toJSONSchema rather than a library
 * (checked 2026-11 against hono 4.13.19 and zod 4.6.7):
 * - @hono/zod-openapi 1.6.3 fits the versions, but its routes validate with
 *   their own middleware, which answers a JSON route sent another
 *   content-type with a 415 HTTPException (today: an empty body and our 400
 *   envelope), and every route would be rewritten as createRoute(): a change of
 *   behaviour for a document that should only describe the routes.
 * - hono-openapi 1.3.3 validates through @hono/standard-validator and converts
 *   through two 0.x @standard-community packages: three more layers between
 *   a zod schema and the JSON Schema that zod itself produces.
 * Here the routes keep their validate() middleware, which carries its schema,
 * and a describe() middleware carries the summary and answers; the document
 * is read off the app's own route table, so a route is listed exactly as
 * Hono serves it.
 */

type Json = Record<string, unknown>
type Operation = { method: string; path: string; doc?: RouteDoc; validated: Validated[] }

const INFO = {
  title: 'LLM quota gateway',
  version: '0.1.0',
  description: 'OpenAI-compatible proxy with plan quotas, and the billing API (YooKassa).',
}
const COMPONENT_URI = (id: string) => `#/components/schemas/${id}`
const INPUT_COMPONENTS = new Set(['PlanInput'])
const BEARER = [{ bearer: [] }]

/** The OpenAPI 3.1 document of every described route in `routes` (a Hono app's `routes`). */
export function openApiDocument(routes: readonly RouterRoute[], serverUrl?: string) {
  const operations = collect(routes)
  const schemas = convertAll(operations)
  const paths: Record<string, Record<string, Json>> = {}
  for (const op of operations.values()) {
    if (!op.doc) continue
    paths[op.path] ??= {}
    paths[op.path]![op.method] = operation(op, op.doc, schemas)
  }
  return {
    openapi: '3.1.0',
    info: INFO,
    // Named, so Swagger UI's server select reads as a choice, not a bare URL.
    servers: serverUrl ? [{ url: serverUrl, description: 'This gateway' }] : [],
    security: BEARER,
    tags: Object.values(TAGS).map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A user JWT or a gateway API key (sk-...)',
        },
      },
      schemas: Object.fromEntries(
        Object.keys(COMPONENTS).map((name) => [name, schemas.component(name)]),
      ),
    },
  }
}

/** Hono lists each handler of a chain as its own route: group them by method and path. */
function collect(routes: readonly RouterRoute[]) {
  const operations = new Map<string, Operation>()
  for (const route of routes) {
    if (route.method === 'ALL') continue // .use() middleware, not an operation
    const method = route.method.toLowerCase()
    const path = openApiPath(route.path)
    const key = `${method} ${path}`
    const op = operations.get(key) ?? { method, path, validated: [] }
    operations.set(key, op)
    const handler = route.handler as unknown as Record<symbol, unknown>
    if (handler[DESCRIBED]) op.doc = handler[DESCRIBED] as RouteDoc
    if (handler[VALIDATED]) op.validated.push(handler[VALIDATED] as Validated)
  }
  return operations
}

/** "/v1/models/:model{.+}" -> "/v1/models/{model}"; "/api/v1/keys/" -> "/api/v1/keys". */
export function openApiPath(honoPath: string) {
  const path = honoPath.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}')
  return path.length > 1 ? path.replace(/\/$/, '') : path
}

/**
 * Every schema converted in two passes, requests as zod reads them (input:
 * defaults optional, a price as number or string) and answers as the routes
 * write them (output). A named component is a $ref wherever it appears.
 */
function convertAll(operations: Map<string, Operation>) {
  const input = z.registry<{ id: string }>()
  const output = z.registry<{ id: string }>()
  const named = new Map<ZodType, string>()
  for (const [name, schema] of Object.entries(COMPONENTS)) {
    ;(INPUT_COMPONENTS.has(name) ? input : output).add(schema, { id: name })
    named.set(schema, name)
  }
  const anonymous = new Map<ZodType, string>()
  const register = (registry: typeof input, schema: ZodType) => {
    if (named.has(schema) || anonymous.has(schema)) return
    const id = `_${anonymous.size}`
    anonymous.set(schema, id)
    registry.add(schema, { id })
  }
  for (const op of operations.values()) {
    for (const v of op.validated) register(input, v.schema)
    if (op.doc?.body?.schema) register(input, op.doc.body.schema)
    if (op.doc?.params) register(input, op.doc.params)
    for (const response of Object.values(op.doc?.responses ?? {})) {
      for (const schema of responseSchemas(response)) register(output, schema)
    }
  }
  const options = { uri: COMPONENT_URI, unrepresentable: 'any' } as const
  const converted = {
    ...z.toJSONSchema(input, { ...options, io: 'input' }).schemas,
    ...z.toJSONSchema(output, { ...options, io: 'output' }).schemas,
  }
  const bare = (id: string) => {
    const { $schema: _s, $id: _i, ...schema } = converted[id] as Json
    return schema
  }
  return {
    /** A schema where a route uses it: a $ref for a component, inline otherwise. */
    of: (schema: ZodType): Json => {
      const name = named.get(schema)
      return name ? { $ref: COMPONENT_URI(name) } : bare(anonymous.get(schema)!)
    },
    component: (name: string) => bare(name),
  }
}
type Schemas = ReturnType<typeof convertAll>

function responseSchemas(response: ResponseDoc): ZodType[] {
  if (typeof response === 'string') return []
  return [response.json, ...Object.values(response.content ?? {})].filter(
    (s): s is ZodType => s != null,
  )
}

function operation(op: Operation, doc: RouteDoc, schemas: Schemas): Json {
  const body = op.validated.find((v) => v.target === 'json')
  const query = op.validated.find((v) => v.target === 'query')
  const parameters = [...pathParameters(op.path, doc, schemas), ...queryParameters(query, schemas)]
  const responses: Record<string, ResponseDoc> = {
    ...(op.validated.length > 0
      ? { '400': 'Invalid request: the message names each bad field' }
      : {}),
    ...(doc.public ? {} : { '401': 'Missing or invalid credentials' }),
    ...doc.responses,
  }
  return {
    summary: doc.summary,
    tags: [TAGS[doc.tag]],
    security: doc.public ? [] : BEARER,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...requestBody(body?.schema ?? doc.body?.schema, doc.body?.example, schemas),
    responses: Object.fromEntries(
      Object.entries(responses).map(([status, r]) => [status, response(status, r, schemas)]),
    ),
  }
}

/** The JSON body: its schema and, when the route gives one, a real example to try. */
function requestBody(schema: ZodType | undefined, example: unknown, schemas: Schemas) {
  if (!schema) return {}
  const media: Json = { schema: schemas.of(schema) }
  if (example !== undefined) media.example = example
  return {
    requestBody: {
      // Hono hands a body-less request to the validator as {}: required when {} fails.
      required: !schema.safeParse({}).success,
      content: { 'application/json': media },
    },
  }
}

function pathParameters(path: string, doc: RouteDoc, schemas: Schemas) {
  const declared = doc.params ? (schemas.of(doc.params).properties as Record<string, Json>) : {}
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: declared[name!] ?? { type: 'string' },
  }))
}

function queryParameters(query: Validated | undefined, schemas: Schemas) {
  if (!query) return []
  const schema = schemas.of(query.schema) as {
    properties: Record<string, Json>
    required?: string[]
  }
  return Object.entries(schema.properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    schema: property,
  }))
}

function response(status: string, r: ResponseDoc, schemas: Schemas): Json {
  if (typeof r === 'string') {
    // Every refusal leaves as the error envelope (src/http/errors.ts).
    if (Number(status) < 400) return { description: r }
    return {
      description: r,
      content: { 'application/json': { schema: schemas.of(COMPONENTS.Error) } },
    }
  }
  const content: Record<string, Json> = {}
  if (r.json) content['application/json'] = { schema: schemas.of(r.json) }
  for (const [type, schema] of Object.entries(r.content ?? {})) {
    content[type] = schema ? { schema: schemas.of(schema) } : {}
  }
  return Object.keys(content).length > 0
    ? { description: r.description, content }
    : { description: r.description }
}
