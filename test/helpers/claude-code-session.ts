import type { AnthropicBehavior } from './fake-anthropic.ts'

/**
 * A Claude Code session as it reaches a gateway (CC 2.1.x, ANTHROPIC_BASE_URL and
 * ANTHROPIC_AUTH_TOKEN set): a title from the small model (non-stream), then two
 * streamed turns of the main model with tools, adaptive thinking, a system
 * prompt in blocks with cache_control, the beta headers and `?beta=true`, and
 * the upstream's answer to each (usage with cache writes, then reads).
 * The bodies are kept as text: the gateway must forward them byte for byte.
 */
export interface SessionCall {
  path: string
  headers: Record<string, string>
  body: string
  stream: boolean
  answer: AnthropicBehavior
  /** What the call bills: input (with cache writes and reads) and output. */
  billed: { input: number; output: number }
}

const SESSION_ID = '4b1c2f0e-7d7a-4c55-9a7e-0f6b3c1d2e9a'
const USER_ID = JSON.stringify({
  device_id: 'd1f3a0c2b4e6',
  account_uuid: '',
  session_id: SESSION_ID,
})
const BETAS =
  'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,prompt-caching-scope-2026-01-05,effort-2025-11-24,extended-cache-ttl-2025-04-11'

const common = {
  'content-type': 'application/json',
  accept: 'application/json',
  'anthropic-version': '2023-06-01',
  'anthropic-beta': BETAS,
  'anthropic-dangerous-direct-browser-access': 'true',
  'user-agent': 'claude-cli/2.1.300 (external, cli)',
  'x-app': 'cli',
  'x-claude-code-session-id': SESSION_ID,
  'x-stainless-lang': 'js',
  'x-stainless-retry-count': '0',
  'x-stainless-timeout': '600',
}

const SYSTEM = [
  {
    type: 'text',
    text: 'x-anthropic-billing-header: cc_version=2.1.300.a1b; cc_entrypoint=cli; cch=00000;',
  },
  {
    type: 'text',
    text: 'You are Claude Code, Anthropic\u2019s official CLI for Claude.',
    cache_control: { type: 'ephemeral', ttl: '1h' },
  },
  {
    type: 'text',
    text: 'You are an interactive CLI tool that helps users with software engineering tasks.\n\n# Tone\nBe concise.',
    cache_control: { type: 'ephemeral' },
  },
]

const TOOLS = [
  {
    name: 'Bash',
    description: 'Executes a given bash command in a persistent shell session.',
    input_schema: {
      type: 'object',
      properties: {
        command: { type: 'string', description: 'The command to execute' },
        timeout: { type: 'number', description: 'Optional timeout in milliseconds (max 600000)' },
      },
      required: ['command'],
      additionalProperties: false,
      $schema: 'http://json-schema.org/draft-07/schema#',
    },
  },
  {
    name: 'Read',
    description: 'Reads a file from the local filesystem.',
    input_schema: {
      type: 'object',
      properties: {
        file_path: { type: 'string' },
        offset: { type: 'number' },
        limit: { type: 'number' },
      },
      required: ['file_path'],
    },
    cache_control: { type: 'ephemeral' },
  },
]

const QUESTION = 'How many TypeScript files are in src? Count them.'

const title = JSON.stringify({
  model: 'claude-haiku-4-5-20251001',
  max_tokens: 512,
  messages: [{ role: 'user', content: QUESTION }],
  system: [
    SYSTEM[0],
    {
      type: 'text',
      text: 'Summarize this coding conversation in under 50 characters.\nCapture the main task. Return JSON with a "title" field.',
    },
  ],
  temperature: 0,
  metadata: { user_id: USER_ID },
})

const turn1 = JSON.stringify({
  model: 'claude-sonnet-4-6',
  messages: [
    {
      role: 'user',
      content: [
        {
          type: 'text',
          text: '<system-reminder>\nAs you answer, use the tools.\n</system-reminder>',
        },
        { type: 'text', text: QUESTION, cache_control: { type: 'ephemeral' } },
      ],
    },
  ],
  system: SYSTEM,
  tools: TOOLS,
  metadata: { user_id: USER_ID },
  max_tokens: 32000,
  thinking: { type: 'adaptive' },
  context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
  output_config: { effort: 'high' },
  stream: true,
})

const turn2 = JSON.stringify({
  model: 'claude-sonnet-4-6',
  messages: [
    { role: 'user', content: [{ type: 'text', text: QUESTION }] },
    {
      role: 'assistant',
      content: [
        {
          type: 'thinking',
          thinking: 'I should count files with find.',
          signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrk',
        },
        {
          type: 'tool_use',
          id: 'toolu_fake1',
          name: 'Bash',
          input: { command: "find src -name '*.ts' | wc -l" },
        },
      ],
    },
    {
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: 'toolu_fake1',
          content: '212',
          is_error: false,
          cache_control: { type: 'ephemeral' },
        },
      ],
    },
  ],
  system: SYSTEM,
  tools: TOOLS,
  metadata: { user_id: USER_ID },
  max_tokens: 32000,
  thinking: { type: 'adaptive' },
  output_config: { effort: 'high' },
  stream: true,
})

export const CLAUDE_CODE_SESSION: SessionCall[] = [
  {
    path: '/v1/messages?beta=true',
    headers: common,
    body: title,
    stream: false,
    answer: {
      blocks: [{ type: 'text', text: '{"title": "Count TypeScript files in src"}' }],
      usage: { input: 187, output: 14 },
    },
    billed: { input: 187, output: 14 },
  },
  {
    path: '/v1/messages?beta=true',
    headers: { ...common, accept: 'text/event-stream' },
    body: turn1,
    stream: true,
    answer: {
      blocks: [
        { type: 'thinking', thinking: 'I should count files with find.' },
        {
          type: 'tool_use',
          id: 'toolu_fake1',
          name: 'Bash',
          input: { command: "find src -name '*.ts' | wc -l" },
        },
      ],
      usage: { input: 6, cacheWrite: 14_873, cacheRead: 0, output: 96 },
    },
    billed: { input: 6 + 14_873, output: 96 },
  },
  {
    path: '/v1/messages?beta=true',
    headers: { ...common, accept: 'text/event-stream' },
    body: turn2,
    stream: true,
    answer: {
      blocks: [{ type: 'text', text: 'There are **212** TypeScript files in `src`.' }],
      usage: { input: 9, cacheWrite: 131, cacheRead: 14_873, output: 21 },
    },
    billed: { input: 9 + 131 + 14_873, output: 21 },
  },
]
