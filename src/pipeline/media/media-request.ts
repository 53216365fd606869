import { GatewayError } from '../../http/errors.ts'
import { findDuplicateKey } from '../request/duplicate-keys.ts'

/** The media endpoints, as their usage rows and logs name them. */
export type MediaEndpoint =
  | 'images_generations'
  | 'images_edits'
  | 'audio_speech'
  | 'audio_transcriptions'
  | 'audio_translations'
  | 'moderations'

export interface MediaRoute {
  endpoint: MediaEndpoint
  /** Path under the upstream's base URL, e.g. "/images/generations". */
  path: string
  /** What the body may be: JSON only, multipart only, or either (images/edits). */
  accepts: 'json' | 'multipart' | 'either'
  /** The model the upstream uses when the body names none; undefined: model is required. */
  defaultModel?: string
}

/** An uploaded file of a multipart body: its form field and bytes. */
export interface MediaFile {
  field: string
  type: string
  bytes: Uint8Array
}

/**
 * A media request as the gateway reads it: the body's bytes (forwarded
 * untouched), its scalar fields (a multipart body's text fields, or the JSON
 * object), its files, and the model it will be billed as.
 */
export interface MediaRequest {
  raw: Buffer
  /** A multipart body (else JSON): only a JSON body's model is renamed for a deployment. */
  multipart: boolean
  fields: Record<string, unknown>
  files: MediaFile[]
  model: string
  /**
   * A large body, parsed and estimated in the counting worker (token-worker.ts):
   * its estimate, or the 400 the estimate threw, which the loop throws in turn once
   * the plan has granted the model. Its `fields` are then lean (leanMediaFields),
   * its `files` empty.
   */
  estimated?: {
    estimate?: { input: number; output: number; seconds: number | null }
    refusal?: { message: string; param: string | null }
  }
}

/** Kept strings longer than this become empty: what the loop reads of a field is short. */
const MAX_LEAN_STRING = 1_024

/**
 * The fields the loop still reads of a body estimated off it: `user` (the acting
 * user, auth/act-as.ts) and an image's `size` and `quality` (its bill,
 * settle/media-usage.ts). A new reader of another field must add it here, or a
 * large body would look as if it had none.
 */
const READ_ON_THE_LOOP = ['user', 'size', 'quality'] as const

/**
 * The fields of a body estimated off the loop, as the loop still reads them
 * (READ_ON_THE_LOOP): scalars, strings up to MAX_LEAN_STRING. The rest (a
 * prompt, a speech input, a form's thousands of fields) was read in the worker,
 * and copying it back would cost the loop as much as parsing it.
 */
export function leanMediaFields(fields: Record<string, unknown>): Record<string, unknown> {
  const lean: Record<string, unknown> = {}
  for (const name of READ_ON_THE_LOOP) {
    const value = fields[name]
    if (value === undefined) continue
    if (typeof value === 'string') lean[name] = value.length > MAX_LEAN_STRING ? '' : value
    else if (typeof value !== 'object' || value === null) lean[name] = value
  }
  return lean
}

/**
 * Parses the body the way the upstream will: multipart/form-data through the
 * platform's own parser (undici's Request.formData(), the one fetch uses),
 * else JSON. The bytes were read within the body limit before this. Only what
 * the gateway bills by is checked; every other field passes through unread.
 */
export async function parseMediaBody(
  route: MediaRoute,
  raw: Buffer,
  contentType: string | undefined,
): Promise<MediaRequest> {
  const multipart = contentType?.toLowerCase().startsWith('multipart/form-data') ?? false
  if (multipart && route.accepts === 'json') {
    throw invalid('This endpoint takes a JSON body (content-type: application/json)')
  }
  if (!multipart && route.accepts === 'multipart') {
    throw invalid('This endpoint takes a multipart/form-data body with the audio in `file`')
  }
  const { fields, files } = multipart
    ? await readForm(raw, contentType!)
    : { fields: readJson(raw), files: [] }
  const named = fields.model
  if (named !== undefined && (typeof named !== 'string' || named.trim() === '')) {
    throw invalid('model must be a non-empty string', 'model')
  }
  const model = (named as string | undefined) ?? route.defaultModel
  if (model === undefined) throw invalid('model is required', 'model')
  return { raw, multipart, fields, files, model }
}

async function readForm(raw: Buffer, contentType: string) {
  let form: FormData
  try {
    form = await new Response(raw, { headers: { 'content-type': contentType } }).formData()
  } catch (error) {
    throw new GatewayError('invalid_request', 'The multipart body could not be parsed', {
      cause: error,
    })
  }
  const fields: Record<string, unknown> = {}
  const files: MediaFile[] = []
  for (const [field, value] of form) {
    if (typeof value === 'string') {
      // As a JSON key twice: gated under one value, the upstream might read the other.
      if (field in fields && !field.endsWith('[]')) throw twice(field)
      fields[field] = value
    } else files.push({ field, type: value.type, bytes: new Uint8Array(await value.arrayBuffer()) })
  }
  return { fields, files }
}

function readJson(raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8')
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new GatewayError('invalid_json', 'The request body is not valid JSON')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError('invalid_json', 'The request body must be a JSON object')
  }
  // The text proxy's rule (duplicate-keys.ts): the bytes go upstream, whose parser may keep the other.
  const duplicate = findDuplicateKey(text, body)
  if (duplicate !== null) throw twice(duplicate.slice(0, 64))
  return body as Record<string, unknown>
}

function twice(key: string): GatewayError {
  return new GatewayError('invalid_request', `The field "${key}" appears twice`, { param: key })
}

export function invalid(message: string, param?: string): GatewayError {
  return new GatewayError('invalid_request', message, param ? { param } : {})
}

/**
 * A count field as JSON (a number) or a form (a string) gives it: an integer
 * from 1 to `max`, `fallback` when absent, else a 400.
 */
export function countField(
  fields: Record<string, unknown>,
  name: string,
  fallback: number,
  max: number,
): number {
  const value = fields[name]
  if (value === undefined || value === null) return fallback
  const number = typeof value === 'string' && /^\d{1,3}$/.test(value) ? Number(value) : value
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > max) {
    throw invalid(`${name} must be an integer from 1 to ${max}`, name)
  }
  return number
}
