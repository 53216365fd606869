import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The proxy's stages take the request value (src/pipeline/request/proxy-request.ts) and the
 * collaborators they name, never hono's Context: only the entries of the route families read
 * it (proxy.ts: the OpenAI and Messages routes; media/media-proxy.ts: images, audio,
 * moderations; anthropic/count-tokens.ts). A stage that imports hono or the Hono env, or reads
 * the Context's variables, breaks that.
 */
const root = join(import.meta.dirname, '..', '..')
const pipeline = join(root, 'src', 'pipeline')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return /\.tsx?$/.test(entry.name) ? [path] : []
  })
}

const READS_CONTEXT = [
  /from 'hono'/,
  /from 'hono\//,
  /from '[./]*http\/env\.ts'/,
  /\bc\.(get|set|req|env)\b/,
]

describe('the pipeline', () => {
  it("reads hono's Context in the families' entries only: every stage takes the request value", () => {
    const readers = sources(pipeline)
      .filter((file) => READS_CONTEXT.some((pattern) => pattern.test(readFileSync(file, 'utf8'))))
      .map((file) => relative(root, file))
    expect(readers).toEqual([
      'src/pipeline/anthropic/count-tokens.ts',
      'src/pipeline/media/media-proxy.ts',
      'src/pipeline/proxy.ts',
    ])
  })
})
