import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Hono } from 'hono'
import type { AppEnv } from '../../http/env.ts'
import { PAGE_CSP as CSP } from '../../http/page-csp.ts'

/*
 * The /docs page renders /openapi.json with Swagger UI served from the
 * gateway itself (swagger-ui-dist, pinned in package.json): no CDN, so it
 * works on a closed network and runs only code the lockfile names.
 */
const require = createRequire(import.meta.url)
const SWAGGER_DIR = dirname(require.resolve('swagger-ui-dist/package.json'))
const SWAGGER_VERSION = (require('swagger-ui-dist/package.json') as { version: string }).version

/** The version is in the path, so a file is never changed under a URL: cached a year, immutable. */
export const DOCS_ASSETS = `/docs/assets/${SWAGGER_VERSION}`
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
}
const YEAR_SECONDS = 365 * 86_400

/**
 * Our start-up script, a file so that the CSP allows no inline script. validatorUrl: null
 * keeps Swagger UI from sending the document to validator.swagger.io (its default).
 * Named by its hash, so it too can be cached as immutable.
 */
const INIT_SCRIPT = `window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    validatorUrl: null,
    // Swagger UI's server select has no label of its own: screen readers would read a bare list.
    onComplete: () => {
      for (const select of document.querySelectorAll('.servers select')) {
        select.setAttribute('aria-label', 'Server')
      }
    },
  })
})
`
const INIT_PATH = `${DOCS_ASSETS}/init-${createHash('sha256').update(INIT_SCRIPT).digest('hex').slice(0, 12)}.js`

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LLM quota gateway: API</title>
<link rel="icon" type="image/png" href="${DOCS_ASSETS}/favicon-32x32.png">
<link rel="stylesheet" href="${DOCS_ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${DOCS_ASSETS}/swagger-ui-bundle.js"></script>
<script src="${INIT_PATH}"></script>
</body>
</html>
`

const ASSET_HEADERS = {
  'cache-control': `public, max-age=${YEAR_SECONDS}, immutable`,
  'x-content-type-options': 'nosniff',
}

/** GET /docs and its assets. Files are read on first use (the bundle is 1.5 MB) and kept. */
export function createDocsPage() {
  const files = new Map<string, Promise<Buffer>>()
  const read = (name: string) => {
    let file = files.get(name)
    if (!file) {
      file = readFile(join(SWAGGER_DIR, name))
      files.set(name, file)
    }
    return file
  }
  return new Hono<AppEnv>()
    .get('/docs', (c) =>
      c.html(PAGE, 200, {
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'same-origin',
      }),
    )
    .get(INIT_PATH, (c) =>
      c.body(INIT_SCRIPT, 200, {
        ...ASSET_HEADERS,
        'content-type': ASSETS['swagger-ui-bundle.js']!,
      }),
    )
    .get(`${DOCS_ASSETS}/:file`, async (c) => {
      const name = c.req.param('file')
      const type = ASSETS[name]
      if (!type) return c.notFound()
      const body = await read(name)
      return c.body(new Uint8Array(body), 200, { ...ASSET_HEADERS, 'content-type': type })
    })
}
