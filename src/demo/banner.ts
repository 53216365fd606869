/**
 * What the demo prints once everything listens: where the gateway is, keys
 * and sign-in links to use it at once, a curl command and an openai SDK
 * snippet, and how to meet the quota and lift it. Plain text on stdout (it
 * is the demo's output, not a log line), one `label  value` per line so a
 * script can read it too.
 */
export interface BannerInfo {
  gatewayUrl: string
  sandboxUrl: string
  userKey: string
  adminKey: string
  signIn: { user: string; admin: string }
  freeRequests: number | null
  proPrice: string | null
  model: string
  readySeconds: number
}

export function formatBanner(info: BannerInfo): string {
  const v1 = `${info.gatewayUrl}/v1`
  const body = JSON.stringify({
    model: info.model,
    messages: [{ role: 'user', content: 'Hello!' }],
  })
  const lines = [
    '',
    `LLM quota gateway: demo ready in ${info.readySeconds.toFixed(1)} s`,
    '  Simulated upstream and YooKassa sandbox on 127.0.0.1: no account, no key, no money.',
    '',
    `  Gateway              ${info.gatewayUrl}`,
    `  OpenAI base URL      ${v1}`,
    `  API key (demo user)  ${info.userKey}`,
    `  API key (admin)      ${info.adminKey}`,
    `  Sign in (demo user)  ${info.signIn.user}`,
    `  Sign in (admin)      ${info.signIn.admin}`,
    `  YooKassa sandbox     ${info.sandboxUrl}`,
    '',
    'Chat with curl:',
    `  curl ${v1}/chat/completions -H "Authorization: Bearer ${info.userKey}" \\`,
    `    -H "Content-Type: application/json" -d '${body}'`,
    '',
    'Or with the openai SDK (npm install openai):',
    "  import OpenAI from 'openai'",
    `  const client = new OpenAI({ baseURL: '${v1}', apiKey: '${info.userKey}' })`,
    `  const chat = await client.chat.completions.create({ model: '${info.model}',`,
    "    messages: [{ role: 'user', content: 'Hello!' }] })",
    '  console.log(chat.choices[0].message.content, chat.usage)',
    '',
    `The Free plan allows ${info.freeRequests ?? 'a few'} requests: the next one answers 429 (insufficient_quota).`,
    `Then open the demo user's sign-in link and press Sign in (single use: it opens /billing), pay for Pro`,
    `(${info.proPrice ?? ''}) on the sandbox checkout page, and the next request answers 200.`,
    "The admin's link opens the console (/admin).",
    `Usage and plan: curl ${info.gatewayUrl}/api/v1/billing/me -H "Authorization: Bearer ${info.userKey}"`,
    'Each sign-in link works once: press l (or type l and Enter) for fresh ones.',
    'Request logs are off (DEMO_REQUEST_LOGS=1 turns them on).',
    'Ctrl+C stops the demo; the next start begins afresh.',
    '',
  ]
  return `${lines.join('\n')}\n`
}

/** Fresh one-time links, printed when the demo is asked (`l`), in the banner's line format. */
export function formatSignInLinks(signIn: { user: string; admin: string }): string {
  return `\n  Sign in (demo user)  ${signIn.user}\n  Sign in (admin)      ${signIn.admin}\n\n`
}
