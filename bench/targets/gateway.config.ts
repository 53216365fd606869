import { defineConfig } from '../../src/config/define.ts'

/**
 * The gateway's configuration under the benchmark (GATEWAY_CONFIG points here). The features are
 * the shipped ones, so the model gate runs as in production; the upstream's baseUrl is replaced
 * by UPSTREAM_BASE_URL (the mock). The pool is sized for the 1,000-open-streams scenario: with
 * a smaller pool (the default was 128) most of those streams would wait in the gateway's queue and the
 * memory measured would not be that of open streams. The floor gets the same pool size.
 * The unlimited bench plan is seeded here too, so the bench does not depend on the plan routes;
 * bench/targets/gateway-setup.ts still creates it through the API when they exist and grants it.
 */
export default defineConfig({
  upstreams: [
    {
      name: 'default',
      baseUrl: 'http://127.0.0.1:9/v1',
      apiKeyEnv: 'UPSTREAM_API_KEY',
      connections: 2048,
    },
  ],
  features: {
    gpt35_access: ['gpt-3.5-*'],
    gpt4_access: ['gpt-4*', 'o1*', 'o3*', 'o4*'],
    claude_access: ['claude-*'],
  },
  plans: [
    {
      id: 'bench-unlimited',
      name: 'Bench unlimited',
      price: 0,
      quotas: null,
      features: ['gpt35_access', 'gpt4_access', 'claude_access'],
    },
  ],
  // Unlimited in flight as well: the bench's 64 concurrent clients are one user (the schema's default is 8).
  quota: { defaultMaxConcurrentRequests: null },
  logLevel: 'warn',
})
