import type { UpstreamConfig } from '../../config/schema.ts'
import type { UpstreamHeaderPolicy } from './headers.ts'

/*
 * What an Anthropic upstream is sent besides the body. Its key goes as
 * x-api-key (never the client's: that header is the gateway key on the way
 * in). The client's anthropic-version and anthropic-beta pass unchanged, and
 * whatever their values: Claude Code adds betas every release, and a beta
 * header stripped from its body field is a hard 400 (docs/claude-code.md).
 * The rest of what Claude Code and the SDK send (x-claude-code-*, x-stainless-*,
 * the client's key) stays behind, as headers.ts allows nothing else by default.
 */
const ANTHROPIC_CLIENT_HEADERS = ['anthropic-version', 'anthropic-beta'] as const

export function anthropicHeaderPolicy(
  upstream: Pick<UpstreamConfig, 'headers' | 'forwardClientHeaders'>,
  key: string | undefined,
): UpstreamHeaderPolicy {
  const fromClient = [...new Set([...ANTHROPIC_CLIENT_HEADERS, ...upstream.forwardClientHeaders])]
  // The key is set after the operator's fixed headers, so none of them can replace it.
  const fixed = key ? { ...upstream.headers, 'x-api-key': key } : upstream.headers
  return { authorization: undefined, fixed, fromClient }
}
