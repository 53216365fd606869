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
  /** null until the sign-in links of the pages work are on main. */
  signIn: { user: string; admin: string } | null
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
    ...(info.signIn
      ? [
          `  Sign in (demo user)  ${info.signIn.user}`,
          `  Sign in (admin)      ${info.signIn.admin}`,
        ]
      : []),
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
    ...(info.signIn
      ? ['Then open the billing page (sign-in link above), pay for Pro on the sandbox, and go on.']
      : [
          `Then pay for Pro (${info.proPrice ?? ''} on the sandbox):`,
          `  curl ${info.gatewayUrl}/api/v1/billing/payment -H "Authorization: Bearer ${info.userKey}" \\`,
          `    -H "Content-Type: application/json" -d '{"plan_id":"pro","return_url":"${info.gatewayUrl}/"}'`,
          '  open its confirmation_url, press Pay, and the next request answers 200.',
        ]),
    `Usage and plan: curl ${info.gatewayUrl}/api/v1/billing/me -H "Authorization: Bearer ${info.userKey}"`,
    'Ctrl+C stops the demo; the next start begins afresh.',
    '',
  ]
  return `${lines.join('\n')}\n`
}
