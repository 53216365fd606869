import { defineConfig } from './src/config/define.ts'

/** A model and its dated snapshots (gpt-4o-2024-08-06), and no other name that starts with it. */
function dated(...models: string[]): string[] {
  return models.flatMap((model) => [model, `${model}-20##-##-##`])
}

/**
 * The operator's file. Every environment variable of API.md overrides what is
 * here; secrets (JWT_SECRET, UPSTREAM_API_KEY, YOOKASSA_SECRET_KEY, ...) are
 * read from the environment only and cannot be written in this file.
 */
export default defineConfig({
  upstreams: [
    // UPSTREAM_BASE_URL replaces this base URL; the key comes from UPSTREAM_API_KEY (or OPENAI_API_KEY).
    { name: 'default', baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'UPSTREAM_API_KEY' },
  ],

  // A plan may use exactly the models its features' patterns match (case-insensitive; `*` a run
  // within one part of a name, `**` across `/ : @`, `#` one digit); any other model is 403
  // model_not_allowed. docs/access.md has the rules. A plan counts every model's tokens alike
  // (weight 1 until modelWeights says otherwise), so the features name the text models a plan
  // sells, not families: search, audio, realtime, transcribe and tts variants and the -pro and
  // deep-research models cost beyond their tokens and are granted by no plan here.
  features: {
    gpt35_access: ['gpt-3.5-*'],
    gpt4_access: [
      ...dated('gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-4-turbo'),
      'gpt-4',
      'gpt-4-####',
      'gpt-4-####-preview',
      'gpt-4-turbo-preview',
      ...dated('o1', 'o1-mini', 'o1-preview', 'o3', 'o3-mini', 'o4-mini'),
    ],
    claude_access: ['claude-*'],
    // The README's first call uses gpt-4o-mini on the free plan: the model and its dated snapshots.
    gpt4o_mini_access: dated('gpt-4o-mini'),
    embeddings_access: ['text-embedding-*'],
  },
  // Patterns every plan may use whatever its features, e.g. ['llama-3*']; none here.
  openModels: [],

  // Hosted tools cost the operator more than tokens: each needs a plan feature (none of the
  // plans below has one, so they are refused) and adds its surcharge to the billed input.
  // Surcharges are the per-call price in gpt-4o input tokens ($2.50 / 1M): web search
  // $10 / 1,000 calls = 4,000 tokens; file search $2.50 / 1,000 = 1,000; a code interpreter
  // container $0.03 = 12,000; an image about $0.04 = 16,000.
  hostedTools: {
    web_search: { feature: 'web_search_access', surchargeTokens: 4_000 },
    web_search_preview: { feature: 'web_search_access', surchargeTokens: 4_000 },
    file_search: { feature: 'file_search_access', surchargeTokens: 1_000 },
    code_interpreter: { feature: 'code_interpreter_access', surchargeTokens: 12_000 },
    image_generation: { feature: 'image_generation_access', surchargeTokens: 16_000 },
  },
  // service_tier other than auto/default: priority costs more, so it is a feature.
  serviceTiers: { priority: 'priority_access', flex: 'flex_access', scale: 'priority_access' },

  // Quotas count raw tokens (as the seed does) until weights are set: then a token of a model
  // counts `weight` tokens against tokens_input / tokens_output. First matching pattern wins, so
  // list the narrow pattern first; unmatched models weigh 1. docs/weights.md derives these from
  // the upstream's price list; hostedTools' surchargeTokens then count as weighted tokens as
  // written (a tool call costs the same whatever the model). For example:
  // modelWeights: {
  //   'gpt-4o-mini*': { input: 1, output: 1 },
  //   'gpt-4o*': { input: 16, output: 16 },
  //   'o3*': { input: 13, output: 52 },
  // },
  // The upstream's prices per 1M tokens, for the margin report (GET /api/v1/billing/admin/margin):
  // modelPrices: { 'gpt-4o-mini*': { input: '0.15', output: '0.60' }, 'gpt-4o*': { input: '2.50', output: '10.00' } },
  // priceCurrency: 'USD',

  // Upserted at every start (and by `npm run gateway -- plans sync`): the seed's two plans.
  plans: [
    {
      id: 'free',
      name: 'Free',
      name_ru: 'Бесплатный',
      description: 'Basic access to AI models',
      description_ru: 'Базовый доступ к AI моделям',
      price: 0,
      currency: 'RUB',
      interval: 'month',
      quotas: { tokens_input: 100_000, tokens_output: 50_000, requests: 1_000 },
      features: ['gpt35_access', 'gpt4o_mini_access', 'embeddings_access'],
      is_active: true,
      display_order: 0,
    },
    {
      id: 'pro',
      name: 'Pro',
      name_ru: 'Профессиональный',
      description: 'Advanced features and higher quotas',
      description_ru: 'Расширенные возможности и увеличенные квоты',
      price: 990,
      currency: 'RUB',
      interval: 'month',
      quotas: { tokens_input: 1_000_000, tokens_output: 500_000, requests: 10_000 },
      features: [
        'gpt35_access',
        'gpt4o_mini_access',
        'gpt4_access',
        'claude_access',
        'embeddings_access',
      ],
      is_active: true,
      display_order: 1,
    },
  ],

  // The initial default plan, written to the database at the first start; the console's
  // "Make default" (or PUT /api/v1/billing/admin/default-plan) changes it from then on.
  billing: { defaultPlanId: 'free' },

  quota: {
    defaultOutputReserve: 4096,
    maxOutputReserve: 32_768,
    disconnectPolicy: 'cancel',
    // Output is admitted while a user's settled output is under the limit (outputAdmission
    // 'settled'), so answers in flight together can overshoot it: at most this many per user,
    // each by its max_tokens (docs/quotas.md). A plan's quotas.max_concurrent_requests wins.
    defaultMaxConcurrentRequests: 8,
  },

  // Raw usage rows (about 630 bytes a request on SQLite) are kept this many days; older ones are
  // pruned by the jobs after the daily rollup took them, which keeps the history, the charts and
  // the margin report (docs/usage-history.md). Rows of a current period always stay.
  usage: { retentionDays: 90 },
})
