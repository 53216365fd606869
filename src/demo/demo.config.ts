import shipped from '../../gateway.config.ts'
import { defineConfig } from '../config/define.ts'
import type { GatewayConfigInput } from '../config/schema.ts'

type SeedPlan = NonNullable<GatewayConfigInput['plans']>[number]

/**
 * Requests a Free user gets in the demo: small enough that a newcomer meets the
 * 429 within a minute of playing (the shipped plan allows 1,000 a month).
 */
export const DEMO_FREE_REQUESTS = 20

/**
 * The shipped plans with two demo-only changes: Free allows DEMO_FREE_REQUESTS
 * requests, and Pro also grants Free's models (the shipped Pro grants GPT-4,
 * o-series and Claude but not gpt-3.5-*, so the demo's chat model would
 * answer 403 right after the upgrade instead of showing the quota lift).
 */
function demoPlan(plan: SeedPlan): SeedPlan {
  if (plan.id === 'free')
    return { ...plan, quotas: { ...plan.quotas, requests: DEMO_FREE_REQUESTS } }
  if (plan.id === 'pro') {
    const features = plan.features ?? []
    return {
      ...plan,
      features: features.includes('gpt35_access') ? features : [...features, 'gpt35_access'],
    }
  }
  return plan
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
  plans: (shipped.plans ?? []).map(demoPlan),
  billing: {
    defaultPlanId: 'free',
    // The sandbox sends the payer back to the gateway itself, whichever name the browser used.
    returnHosts: ['127.0.0.1', 'localhost'],
  },
  quota: shipped.quota,
  yookassa: {
    // The sandbox is a test shop (GET /me says test: true) and notifies from loopback.
    allowTestPayments: true,
    trustedIps: ['127.0.0.1/32', '::1/128'],
  },
})
