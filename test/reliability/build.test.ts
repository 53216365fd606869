import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintToken } from '../../src/cli/token.ts'
import { type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.ts'
import {
  createProcessDatabase,
  freePort,
  type ProcessDatabase,
  type RunningGateway,
  repoRoot,
  runToExit,
  startProcess,
  waitForOk,
} from '../helpers/spawn-gateway.ts'

const JWT_SECRET = 'build-test-secret-0123456789abcdef'
const SOURCE_MAPS = ['--enable-source-maps']
const BODY_LIMIT = 2 * 1024 * 1024

/**
 * Production runs the build of src/ (`npm start`, the Dockerfile), not tsx: the bundles are
 * built here into a folder of their own under dist/ (where node finds node_modules, as from
 * dist/ itself) and started as a process, with no tsx loaded, against the fake upstream.
 */
describe(`the compiled gateway (${process.env.TEST_DATABASE ?? 'sqlite'})`, () => {
  let outdir: string
  let database: ProcessDatabase
  let upstream: FakeUpstream
  let gateway: RunningGateway | undefined
  let base: string

  beforeAll(async () => {
    mkdirSync(join(repoRoot, 'dist'), { recursive: true })
    outdir = mkdtempSync(join(repoRoot, 'dist', 'test-'))
    await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--outdir', outdir], {
      cwd: repoRoot,
    })
    database = await createProcessDatabase()
    upstream = await startFakeUpstream()
    // The operator's TypeScript config, outside the package (CommonJS scope), read at start:
    // its body limit is checked below; the free plan takes the long prompt of the worker's test.
    const config = join(database.dir, 'operator.config.ts')
    writeFileSync(
      config,
      `import shipped from '${pathToFileURL(join(repoRoot, 'gateway.config.ts')).href}'
export default {
  ...shipped,
  server: { ...shipped.server, bodyLimitBytes: ${BODY_LIMIT} },
  plans: shipped.plans.map((plan) =>
    plan.id === 'free' ? { ...plan, quotas: { ...plan.quotas, tokens_input: 10_000_000 } } : plan,
  ),
}
`,
    )
    const port = await freePort()
    const env = {
      GATEWAY_CONFIG: config,
      DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      JWT_SECRET,
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_API_KEY: 'sk-upstream-for-build-test',
    }
    gateway = startProcess(join(outdir, 'main.js'), [], env, SOURCE_MAPS)
    base = `http://127.0.0.1:${port}`
    await waitForOk(`${base}/healthz`, gateway, 20_000)
  }, 30_000)

  async function chat(content: string) {
    const token = await mintToken({ upstreamApiKeys: {}, jwtSecret: JWT_SECRET }, { sub: 'built' })
    return fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-3.5-turbo', messages: [{ role: 'user', content }] }),
    })
  }

  afterAll(async () => {
    await gateway?.stop('SIGKILL')
    await upstream?.close()
    await database?.drop()
    if (outdir) rmSync(outdir, { recursive: true, force: true })
  })

  it('is what `npm start` and the image run: the bundle, with source maps pointing at src/', () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'))
    expect(manifest.scripts.prestart).toBe('npm run build')
    expect(manifest.scripts.build).toBe('node scripts/build.mjs')
    expect(manifest.scripts.start).toBe('node --enable-source-maps dist/main.js')
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')
    expect(dockerfile).toContain('CMD ["node", "--enable-source-maps", "dist/main.js"]')
    const map = JSON.parse(readFileSync(join(outdir, 'main.js.map'), 'utf8'))
    const sources = (map.sources as string[]).map((s) => relative(repoRoot, join(outdir, s)))
    expect(sources).toContain(join('src', 'main.ts'))
  })

  it('answers a proxied chat completion from the upstream, run from the bundle', async () => {
    const res = await chat('hi')
    const text = await res.text()
    expect(res.status, `${text}\n${gateway!.output()}`).toBe(200)
    expect(JSON.parse(text).choices?.[0]?.message?.content, text).toBeTruthy()
    expect(upstream.requests).toHaveLength(1)
    expect(upstream.requests[0]!.headers.authorization).toBe('Bearer sk-upstream-for-build-test')
  })

  it("reads the operator's TypeScript config file at start (tsx compiles that one file)", async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-3.5-turbo', padding: 'x'.repeat(2 * BODY_LIMIT) }),
    })
    expect(res.status).toBe(413)
    const body = (await res.json()) as { error: { code: string } }
    expect(body.error.code).toBe('payload_too_large')
  })

  it('counts a long prompt in its worker thread, whose bundle sits beside main.js', async () => {
    const words = Array.from({ length: 40_000 }, (_, i) => `word${i % 997} line${i % 13}`)
    const res = await chat(words.join(' '))
    const text = await res.text()
    expect(res.status, `${text}\n${gateway!.output()}`).toBe(200)
    expect(JSON.parse(text).choices?.[0]?.message?.content, text).toBeTruthy()
  })

  it('serves the files it reads from disk: the pages’ assets and Swagger UI', async () => {
    const css = await fetch(`${base}/assets/gateway.css`)
    expect(css.status).toBe(200)
    expect(await css.text()).toBe(
      readFileSync(join(repoRoot, 'src', 'web', 'assets', 'gateway.css'), 'utf8'),
    )
    const page = await (await fetch(`${base}/docs`)).text()
    const stylesheet = page.match(/href="(\/docs\/assets\/[^"]+\.css)"/)?.[1]
    expect(stylesheet, page).toBeDefined()
    const swagger = await fetch(`${base}${stylesheet}`)
    expect(swagger.status).toBe(200)
    expect((await swagger.arrayBuffer()).byteLength).toBeGreaterThan(10_000)
  })

  it('runs the CLI from its bundle too (`node dist/cli.js`, as in the image)', async () => {
    const status = await runToExit(
      join(outdir, 'cli.js'),
      ['db', 'status'],
      { DATABASE_URL: database.url },
      20_000,
      SOURCE_MAPS,
    )
    expect(status.code, status.output).toBe(0)
    expect(status.output).toMatch(/applied {2}0001_init/)
    expect(status.output).toMatch(/\d+ applied, 0 pending/)
  })
})
