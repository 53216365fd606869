import Anthropic from '@anthropic-ai/sdk'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { type FakeAnthropic, startFakeAnthropic } from './fake-anthropic.ts'
import type { HarnessOptions } from './harness.ts'
import { type PlanInput, type ProxyFixture, startProxyFixture } from './proxy-fixture.ts'

/**
 * The Anthropic surface's test setting: the proxy fixture (gateway, test plan,
 * ledger probes, the OpenAI fake as the default upstream) with an upstream of
 * kind `anthropic` serving `claude-*` from the fake Anthropic API, and an
 * @anthropic-ai/sdk client per user, its key sent either way Claude Code sends it.
 */
export const ANTHROPIC_UPSTREAM_KEY = 'sk-ant-api03-operator-secret-0123456789'

export interface AnthropicFixture extends ProxyFixture {
  anthropic: FakeAnthropic
  /** An SDK client for the user: `bearer` = ANTHROPIC_AUTH_TOKEN, `x-api-key` = ANTHROPIC_API_KEY. */
  sdk(
    userId: string,
    options?: {
      auth?: 'bearer' | 'x-api-key'
      maxRetries?: number
      headers?: Record<string, string>
    },
  ): Promise<Anthropic>
}

export async function startAnthropicFixture(
  options: {
    plan?: Partial<PlanInput>
    config?: Partial<GatewayConfigInput>
    harness?: HarnessOptions
  } = {},
): Promise<AnthropicFixture> {
  const anthropic = await startFakeAnthropic()
  const proxy = await startProxyFixture({
    plan: { features: ['gpt4_access', 'claude_access'], ...options.plan },
    config: {
      upstreams: [
        { name: 'default', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnv: 'UPSTREAM_API_KEY' },
        {
          name: 'anthropic',
          kind: 'anthropic',
          baseUrl: anthropic.url,
          apiKeyEnv: 'ANTHROPIC_UPSTREAM_KEY',
          models: ['claude-*'],
        },
      ],
      ...options.config,
    },
    harness: {
      ...options.harness,
      env: { ANTHROPIC_UPSTREAM_KEY, ...options.harness?.env },
    },
  })
  return {
    ...proxy,
    anthropic,
    async sdk(userId, { auth = 'bearer', maxRetries = 0, headers = {} } = {}) {
      const token = await proxy.token(userId)
      return new Anthropic({
        baseURL: proxy.base,
        maxRetries,
        apiKey: null,
        authToken: auth === 'bearer' ? token : null,
        defaultHeaders: auth === 'x-api-key' ? { 'x-api-key': token, ...headers } : headers,
      })
    },
    async close() {
      await proxy.close()
      await anthropic.close()
    },
  }
}
