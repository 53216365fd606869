import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { type PlanInput, type ProxyFixture, startProxyFixture } from './proxy-fixture.ts'

/** The media models a plan may be granted, as an operator would write them. */
export const MEDIA_FEATURES = {
  media_access: [
    'dall-e-*',
    'gpt-image-*',
    'tts-*',
    'gpt-4o-mini-tts',
    'whisper-*',
    'gpt-4o-transcribe',
    'gpt-4o-mini-transcribe',
    'omni-moderation-*',
  ],
}

/** The proxy fixture with a plan granting the media models (and the text ones). */
export function startMediaFixture(
  options: { plan?: Partial<PlanInput>; config?: Partial<GatewayConfigInput> } = {},
): Promise<ProxyFixture> {
  return startProxyFixture({
    plan: { features: ['gpt4_access', 'media_access'], ...options.plan },
    config: { features: MEDIA_FEATURES, ...options.config },
  })
}
