import shipped from '../../gateway.config.ts'
import { defineConfig } from '../config/define.ts'
import type { GatewayConfigInput } from '../config/schema.ts'

type SeedPlan = NonNullable<GatewayConfigInput['plans']>[number]

/**
 * Requests a Free user gets in the demo: small enough that a newcomer meets the
 * 429 within a minute of playing (the shipped plan allows 1,000 a month).
 */
const DEMO_FREE_REQUESTS = 20

/** The shipped plans, with the one demo-only change: Free allows DEMO_FREE_REQUESTS requests. */
function demoPlan(plan: SeedPlan): SeedPlan {
  if (plan.id !== 'free') return plan
  return { ...plan, quotas: { ...plan.quotas, requests: DEMO_FREE_REQUESTS } }
}

/**
 * The demo's configuration, used only by src/demo/main.ts. The entry layers
 * what is known at start over it (the simulated upstream's and the sandbox's
 * URLs, generated secrets), the same way the environment overrides
 * gateway.config.ts for `npm start`.
 */
export default defineConfig({
  server: { host: '127.0.0.1', port: 3000 },
  database: { url: 'sqlite:./data/demo.db' },
  features: shipped.features,
  openModels: shipped.openModels,
  plans: (shipped.plans ?? []).map(demoPlan),
  billing: {
    defaultPlanId: 'free',
    // The sandbox sends the payer back to the gateway itself, whichever name the browser
    // used: the entry sets BILLING_RETURN_HOSTS to both names with the gateway's port.
  },
  quota: shipped.quota,
  // Upstream list prices (USD per 1M tokens, OpenAI's and Anthropic's standard tier) and a
  // rouble rate, so the console's margin pages show real figures: narrow patterns first.
  modelPrices: {
    'gpt-4o-mini*': { input: '0.15', output: '0.60' },
    'gpt-4o*': { input: '2.50', output: '10.00' },
    'gpt-4.1-nano*': { input: '0.10', output: '0.40' },
    'gpt-4.1-mini*': { input: '0.40', output: '1.60' },
    'gpt-4.1*': { input: '2.00', output: '8.00' },
    'gpt-4-turbo*': { input: '10.00', output: '30.00' },
    'gpt-4*': { input: '30.00', output: '60.00' },
    'gpt-3.5-turbo*': { input: '0.50', output: '1.50' },
    'o4-mini*': { input: '1.10', output: '4.40' },
    'o3-mini*': { input: '1.10', output: '4.40' },
    'o3*': { input: '2.00', output: '8.00' },
    'o1-mini*': { input: '1.10', output: '4.40' },
    'o1*': { input: '15.00', output: '60.00' },
    'claude-*haiku*': { input: '0.80', output: '4.00' },
    'claude-*opus*': { input: '15.00', output: '75.00' },
    'claude-*': { input: '3.00', output: '15.00' },
    'text-embedding-3-large*': { input: '0.13', output: '0.000001' },
    'text-embedding-*': { input: '0.02', output: '0.000001' },
  },
  priceCurrency: 'USD',
  shopCurrency: 'RUB',
  // A round rouble rate for days no admin-set rate covers (the console's margin by month sets dated ones).
  exchangeRate: '95',
  // The links are printed at start; a newcomer may play with curl for a while before opening one.
  web: { signInLinkTtlSeconds: 86_400 },
  yookassa: {
    // The sandbox is a test shop (GET /me says test: true) and notifies from loopback.
    allowTestPayments: true,
    trustedIps: ['127.0.0.1/32', '::1/128'],
  },
})
