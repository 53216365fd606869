import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { createApiKey } from '../auth/api-keys.service.ts'
import { upsertUser } from '../auth/users.repo.ts'
import { createRootLogger } from '../boot.ts'
import { ConfigError, loadConfig } from '../config/load.ts'
import { addressInUseHint } from '../lib/listen-error.ts'
import { formatMoney, parseMoney } from '../lib/money.ts'
import { startGateway } from '../start-gateway.ts'
import { formatBanner, formatSignInLinks } from './banner.ts'
import { listenForCommands } from './commands.ts'
import demoConfig from './demo.config.ts'
import { mintSignInLinks } from './sign-in-links.ts'
import { startSimulatedUpstream } from './upstream/simulated-upstream.ts'
import { startYooKassaSandbox } from './yookassa/sandbox.ts'

/**
 * `npm run demo`: the gateway with everything outside it simulated on
 * 127.0.0.1 (an OpenAI-shaped upstream, a YooKassa sandbox with a checkout
 * page), a fresh SQLite file, the shipped plans with a tiny Free quota, a demo
 * user and an admin, and a banner saying how to use them. Secrets are made up
 * at each start; nothing is read from the environment but the few knobs below.
 * The production entry (src/main.ts) imports nothing from src/demo.
 *
 * Knobs: PORT (gateway, default 3000; 0 picks a free one), DEMO_DATABASE_URL
 * (default a fresh ./data/demo.db; not DATABASE_URL, so a shell set up for a
 * real gateway never gets demo users and keys in its database), LOG_LEVEL,
 * LOG_FORMAT, DEMO_UPSTREAM_PORT, DEMO_YOOKASSA_PORT (default: free ports), DEMO_REQUEST_LOGS=1
 * (a log line per request; off by default so the banner's keys and links stay on screen).
 * While it runs, `l` prints fresh sign-in links (commands.ts).
 */
const DEMO_DATABASE = './data/demo.db'
const USERS = { user: 'demo-user', admin: 'demo-admin' }
/** Granted by both shipped plans (Free's gpt4o_mini_access, Pro's gpt4_access). */
const MODEL = 'gpt-4o-mini'
const WEBHOOK_PATH = '/api/v1/billing/webhook/yookassa'

async function main(env: NodeJS.ProcessEnv) {
  const secret = (bytes: number) => randomBytes(bytes).toString('hex')
  const logging = { LOG_LEVEL: env.LOG_LEVEL, LOG_FORMAT: env.LOG_FORMAT }
  const logger = createRootLogger(loadConfig({ file: demoConfig, env: logging }))

  const upstreamKey = `sk-upstream-${secret(16)}`
  const shop = { shopId: '500500', secretKey: `test_${secret(16)}` }
  const upstream = await startSimulatedUpstream({
    apiKey: upstreamKey,
    port: Number(env.DEMO_UPSTREAM_PORT ?? 0),
  })
  const sandbox = await startYooKassaSandbox({
    ...shop,
    port: Number(env.DEMO_YOOKASSA_PORT ?? 0),
    logger: logger.child({ component: 'yookassa-sandbox' }),
  })

  // The port must be known before the config is: PUBLIC_URL (links, return URLs) names it.
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT)
  const gatewayPort = port === 0 ? await freePort() : port
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`
  const webhookSecret = secret(16)
  if (!env.DEMO_DATABASE_URL) freshDemoDatabase()
  const loaded = loadConfig({
    file: demoConfig,
    env: {
      ...logging,
      PORT: String(gatewayPort),
      PUBLIC_URL: gatewayUrl,
      // A return_url on a non-default port must be allowed with that port (docs/security.md).
      BILLING_RETURN_HOSTS: `127.0.0.1:${gatewayPort},localhost:${gatewayPort}`,
      DATABASE_URL: env.DEMO_DATABASE_URL,
      REQUEST_LOG_LEVEL: env.DEMO_REQUEST_LOGS === '1' ? 'info' : 'debug',
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_API_KEY: upstreamKey,
      JWT_SECRET: secret(32),
      YOOKASSA_SHOP_ID: shop.shopId,
      YOOKASSA_SECRET_KEY: shop.secretKey,
      YOOKASSA_API_URL: sandbox.apiUrl,
      YOOKASSA_WEBHOOK_SECRET: webhookSecret,
    },
  })
  const gateway = await startGateway(loaded, logger)
  let stopCommands = () => {}
  const stop = (signal: string) => {
    stopCommands()
    void upstream.close()
    void sandbox.close()
    gateway.shutdown(signal)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // The same verified path as YooKassa's: loopback is trusted in the demo only, and the
  // secret travels as ?secret=, the form a URL set in YooKassa's cabinet can carry.
  sandbox.setWebhookUrl(`${gatewayUrl}${WEBHOOK_PATH}?secret=${webhookSecret}`)

  const { deps } = gateway
  const now = Math.floor(Date.now() / 1000)
  await upsertUser(deps.database.db, {
    id: USERS.user,
    email: 'demo@example.com',
    role: 'user',
    now,
  })
  await upsertUser(deps.database.db, {
    id: USERS.admin,
    email: 'admin@example.com',
    role: 'admin',
    now,
  })
  const asUser = (userId: string, role: 'admin' | 'user') =>
    ({ userId, email: null, role, via: { kind: 'jwt' } }) as const
  const userKey = await createApiKey(deps, asUser(USERS.user, 'user'), { name: 'demo' })
  // Keys are admin only when asked for (docs/security.md): the console and admin routes need it.
  const adminKey = await createApiKey(deps, asUser(USERS.admin, 'admin'), {
    name: 'demo admin',
    admin: true,
  })
  const plans = loaded.config.plans
  const free = plans.find((p) => p.id === loaded.config.billing.defaultPlanId)
  const pro = plans.find((p) => p.id === 'pro')

  process.stdout.write(
    formatBanner({
      gatewayUrl,
      sandboxUrl: sandbox.origin,
      userKey: userKey.key,
      adminKey: adminKey.key,
      signIn: await mintSignInLinks(deps, USERS),
      freeRequests: free?.quotas?.requests ?? null,
      proPrice: pro ? `${formatMoney(parseMoney(pro.price) ?? 0)} ${pro.currency}` : null,
      model: MODEL,
      readySeconds: process.uptime(),
    }),
  )
  stopCommands = listenForCommands(
    process.stdin,
    {
      links: async () => {
        process.stdout.write(formatSignInLinks(await mintSignInLinks(deps, USERS)))
      },
    },
    (error) => logger.error({ err: error }, 'demo command failed'),
  )
}

/** Each start begins afresh: the demo's SQLite file and its WAL files are removed. */
function freshDemoDatabase() {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${DEMO_DATABASE}${suffix}`, { force: true })
}

/** A port nobody listens on now (bind 0, read it, release it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

main(process.env).catch((error) => {
  const message =
    error instanceof ConfigError
      ? error.message
      : (addressInUseHint(error, 'npm run demo') ?? (error as Error).stack)
  process.stderr.write(`demo failed to start: ${message}\n`)
  process.exit(1)
})
