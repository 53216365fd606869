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
  // The links are printed at start; a newcomer may play with curl for a while before opening one.
  web: { signInLinkTtlSeconds: 86_400 },
  yookassa: {
    // The sandbox is a test shop (GET /me says test: true) and notifies from loopback.
    allowTestPayments: true,
    trustedIps: ['127.0.0.1/32', '::1/128'],
  },
})
